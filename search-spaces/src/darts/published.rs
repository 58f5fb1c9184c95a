//! Published genotypes.

use super::genotype::DartsGenotype;

/// DARTS_V2 (second-order DARTS, Liu et al., ICLR 2019) exactly as published in the
/// DARTS repository's `genotypes.py` (edge order as derived, not canonical).
pub const DARTS_V2: &str = "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])";

impl DartsGenotype {
    /// The published DARTS_V2 genotype ([`DARTS_V2`]).
    pub fn darts_v2() -> Self {
        DartsGenotype::parse(DARTS_V2).expect("the published DARTS_V2 genotype is valid")
    }
}
