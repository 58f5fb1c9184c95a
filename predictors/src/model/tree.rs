//! CART regression trees (squared error), the base learner of the random forest
//! and of gradient boosting.

use rand::RngCore;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

/// Growth limits of one tree.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TreeParams {
    /// Maximum depth (root = 0).
    pub max_depth: usize,
    /// Minimum rows in a leaf.
    pub min_samples_leaf: usize,
    /// Fraction of the features tried at each split, in (0, 1].
    pub max_features: f64,
}

/// One node of a [`Tree`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Node {
    /// An internal node: rows with `x[feature] <= threshold` go to `left`.
    Split {
        /// Feature index.
        feature: usize,
        /// Threshold (midpoint between two training values).
        threshold: f64,
        /// Index of the left child.
        left: usize,
        /// Index of the right child.
        right: usize,
    },
    /// A leaf predicting `value`.
    Leaf {
        /// The mean target of its training rows.
        value: f64,
    },
}

/// A regression tree; node 0 is the root.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    /// Nodes, root first.
    pub nodes: Vec<Node>,
}

impl Tree {
    /// The prediction for one row.
    pub fn predict_row(&self, row: &[f64]) -> f64 {
        let mut i = 0;
        loop {
            match &self.nodes[i] {
                Node::Leaf { value } => return *value,
                Node::Split { feature, threshold, left, right } => {
                    i = if row[*feature] <= *threshold { *left } else { *right };
                }
            }
        }
    }

    /// Grows a tree on the rows `idx` of `x` (with repeats for a bootstrap sample).
    pub fn grow(x: &[Vec<f64>], y: &[f64], idx: &[usize], params: &TreeParams, rng: &mut dyn RngCore) -> Tree {
        let d = x.first().map_or(0, Vec::len);
        let mut tree = Tree { nodes: Vec::new() };
        let mut idx = idx.to_vec();
        let mut features: Vec<usize> = (0..d).collect();
        let k = ((params.max_features * d as f64).ceil() as usize).clamp(1, d.max(1));
        tree.build(x, y, &mut idx, 0, params, k, &mut features, rng);
        tree
    }

    #[allow(clippy::too_many_arguments)]
    fn build(
        &mut self,
        x: &[Vec<f64>],
        y: &[f64],
        idx: &mut [usize],
        depth: usize,
        params: &TreeParams,
        k: usize,
        features: &mut [usize],
        rng: &mut dyn RngCore,
    ) -> usize {
        let me = self.nodes.len();
        let n = idx.len();
        let sum: f64 = idx.iter().map(|&i| y[i]).sum();
        let mean = sum / n.max(1) as f64;
        self.nodes.push(Node::Leaf { value: mean });
        let min_leaf = params.min_samples_leaf.max(1);
        if depth >= params.max_depth || n < 2 * min_leaf {
            return me;
        }
        if k < features.len() {
            features.shuffle(rng);
        }
        // Best split: maximise the decrease of the sum of squared errors, i.e.
        // maximise sum_l^2 / n_l + sum_r^2 / n_r.
        let base = sum * sum / n as f64;
        let mut best: Option<(f64, usize, f64)> = None;
        let mut order: Vec<(f64, f64)> = Vec::with_capacity(n);
        for &f in features.iter().take(k) {
            order.clear();
            order.extend(idx.iter().map(|&i| (x[i][f], y[i])));
            order.sort_by(|a, b| a.0.total_cmp(&b.0));
            if order[0].0 == order[n - 1].0 {
                continue;
            }
            let mut left = 0.0;
            for s in 0..n - 1 {
                left += order[s].1;
                let nl = s + 1;
                if order[s].0 == order[s + 1].0 || nl < min_leaf || n - nl < min_leaf {
                    continue;
                }
                let right = sum - left;
                let gain = left * left / nl as f64 + right * right / (n - nl) as f64 - base;
                if best.is_none_or(|(g, _, _)| gain > g + 1e-12) {
                    best = Some((gain, f, 0.5 * (order[s].0 + order[s + 1].0)));
                }
            }
        }
        let Some((gain, feature, threshold)) = best else { return me };
        if gain <= 1e-12 {
            return me;
        }
        // Partition idx in place.
        let mut lo = 0;
        for j in 0..n {
            if x[idx[j]][feature] <= threshold {
                idx.swap(lo, j);
                lo += 1;
            }
        }
        let (l_idx, r_idx) = idx.split_at_mut(lo);
        let left = self.build(x, y, l_idx, depth + 1, params, k, features, rng);
        let right = self.build(x, y, r_idx, depth + 1, params, k, features, rng);
        self.nodes[me] = Node::Split { feature, threshold, left, right };
        me
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_deep_tree_fits_a_step_function_exactly() {
        let x: Vec<Vec<f64>> = (0..20).map(|i| vec![i as f64, (i % 3) as f64]).collect();
        let y: Vec<f64> = (0..20)
            .map(|i| {
                if i < 7 {
                    1.0
                } else if i < 15 {
                    5.0
                } else {
                    -2.0
                }
            })
            .collect();
        let idx: Vec<usize> = (0..20).collect();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let p = TreeParams { max_depth: 10, min_samples_leaf: 1, max_features: 1.0 };
        let t = Tree::grow(&x, &y, &idx, &p, &mut rng);
        for (r, v) in x.iter().zip(&y) {
            assert_eq!(t.predict_row(r), *v);
        }
        // Two splits suffice: three leaves.
        assert_eq!(t.nodes.iter().filter(|n| matches!(n, Node::Leaf { .. })).count(), 3);
        let stump = Tree::grow(&x, &y, &idx, &TreeParams { max_depth: 0, ..p }, &mut rng);
        assert_eq!(stump.nodes.len(), 1);
    }
}
