//! How a supernet combines the candidate ops of an edge under the architecture
//! weights: the one place the four methods differ inside the network.
//!
//! A supernet calls [`EdgeMix::apply`] on every edge with a closure that runs one
//! candidate op; the mix decides which ops run and how their outputs are
//! combined:
//! - [`MixKind::Dense`]: every op runs, outputs summed with weights (DARTS; with
//!   `partial > 1`, PC-DARTS's partial channels: only the first `C / K` channels
//!   go through the ops, the rest bypass the edge, then a channel shuffle);
//! - [`MixKind::Sampled`]: only the listed ops of each edge run, each scaled by
//!   its gate (GDAS's straight-through one-hot sample, ProxylessNAS's binary
//!   gates), so memory is that of the sampled sub-network.
//!
//! An optional per-edge scale (PC-DARTS's edge normalisation) multiplies the
//! edge's output.

use burn::tensor::Tensor;

/// The way the candidate ops of every edge are combined in one forward pass.
#[derive(Clone, Debug)]
pub enum MixKind {
    /// Every op, weighted: `weights` is `[edges, ops]`.
    Dense(Tensor<2>),
    /// Only `active[e]` ops of edge `e`, each multiplied by `gates[e, op]`
    /// (`gates` is `[edges, ops]`).
    Sampled {
        /// The ops that run on each edge.
        active: Vec<Vec<usize>>,
        /// Gate of each (edge, op); only the active entries are read.
        gates: Tensor<2>,
    },
}

/// The mix of one forward pass (see the module docs).
#[derive(Clone, Debug)]
pub struct EdgeMix {
    /// Which ops run and their weights.
    pub kind: MixKind,
    /// PC-DARTS's `K`: the ops see `C / K` channels (1 = all channels).
    pub partial: usize,
    /// PC-DARTS's edge normalisation: a weight per edge (`[edges]`).
    pub edge_scale: Option<Tensor<1>>,
}

impl EdgeMix {
    /// A dense mix over all channels without edge normalisation.
    pub fn dense(weights: Tensor<2>) -> Self {
        EdgeMix { kind: MixKind::Dense(weights), partial: 1, edge_scale: None }
    }

    /// The output of edge `edge` for input `x`. `op(o, x)` runs candidate `o`
    /// (`None` for an op whose output is zero, e.g. `none`). Returns `None` when
    /// the edge contributes nothing.
    pub fn apply(
        &self,
        edge: usize,
        x: Tensor<4>,
        mut op: impl FnMut(usize, Tensor<4>) -> Option<Tensor<4>>,
    ) -> Option<Tensor<4>> {
        let k = self.partial.max(1);
        let out = if k == 1 {
            self.combine(edge, x, &mut op)
        } else {
            let [_, c, h, w] = x.dims();
            let through = c / k;
            let x1 = x.clone().narrow(1, 0, through);
            let bypass = x.narrow(1, through, c - through);
            let mixed = self.combine(edge, x1.clone(), &mut op).unwrap_or_else(|| x1.zeros_like());
            // The mixed op may change the spatial size (a reduction edge): the
            // bypass is then pooled to match, as PC-DARTS does with max pooling.
            let [_, _, mh, mw] = mixed.dims();
            let bypass = if (mh, mw) != (h, w) {
                burn::nn::pool::MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init().forward(bypass)
            } else {
                bypass
            };
            Some(channel_shuffle(Tensor::cat(vec![mixed, bypass], 1), k))
        };
        match (&self.edge_scale, out) {
            (Some(scale), Some(y)) => Some(y * scale.clone().narrow(0, edge, 1).reshape([1, 1, 1, 1])),
            (_, out) => out,
        }
    }

    fn combine(
        &self,
        edge: usize,
        x: Tensor<4>,
        op: &mut impl FnMut(usize, Tensor<4>) -> Option<Tensor<4>>,
    ) -> Option<Tensor<4>> {
        let weight = |m: &Tensor<2>, o: usize| m.clone().slice([edge..edge + 1, o..o + 1]).reshape([1, 1, 1, 1]);
        let mut sum: Option<Tensor<4>> = None;
        let mut add = |term: Tensor<4>| {
            sum = Some(match sum.take() {
                Some(s) => s + term,
                None => term,
            })
        };
        match &self.kind {
            MixKind::Dense(w) => {
                let ops = w.dims()[1];
                for o in 0..ops {
                    if let Some(y) = op(o, x.clone()) {
                        add(y * weight(w, o));
                    }
                }
            }
            MixKind::Sampled { active, gates } => {
                for &o in &active[edge] {
                    if let Some(y) = op(o, x.clone()) {
                        add(y * weight(gates, o));
                    }
                }
            }
        }
        sum
    }
}

/// ShuffleNet's channel shuffle with `groups` groups: channel `g * (C / groups) + i`
/// moves to `i * groups + g`.
pub fn channel_shuffle(x: Tensor<4>, groups: usize) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    if groups <= 1 || !c.is_multiple_of(groups) {
        return x;
    }
    x.reshape([n, groups, c / groups, h * w]).swap_dims(1, 2).reshape([n, c, h, w])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn values(t: Tensor<4>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().expect("f32")
    }

    #[test]
    fn channel_shuffle_interleaves_the_groups() {
        let device = Device::flex();
        let x = Tensor::<4>::from_data(
            TensorData::new((0..4).map(|v| v as f32).collect::<Vec<_>>(), [1, 4, 1, 1]),
            &device,
        );
        assert_eq!(values(channel_shuffle(x, 2)), vec![0.0, 2.0, 1.0, 3.0]);
    }

    #[test]
    fn partial_channels_route_the_first_quarter_through_the_ops_and_shuffle() {
        let device = Device::flex();
        // 8 channels, K = 4: channels 0-1 go through the op (x10), 2-7 bypass.
        let x = Tensor::<4>::from_data(
            TensorData::new((1..=8).map(|v| v as f32).collect::<Vec<_>>(), [1, 8, 1, 1]),
            &device,
        );
        let w = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 0.0], [1, 2]), &device);
        let mix = EdgeMix { kind: MixKind::Dense(w), partial: 4, edge_scale: None };
        let mut seen = Vec::new();
        let y = mix
            .apply(0, x, |o, x| {
                seen.push(x.dims()[1]);
                (o == 0).then(|| x * 10.0)
            })
            .expect("output");
        assert_eq!(seen, vec![2, 2], "each op sees C / K channels");
        // Before the shuffle: [10, 20, 3, 4, 5, 6, 7, 8] in 4 groups of 2; after:
        // the first channel of each group, then the second.
        assert_eq!(values(y), vec![10.0, 3.0, 5.0, 7.0, 20.0, 4.0, 6.0, 8.0]);
    }

    #[test]
    fn sampled_mix_runs_only_the_active_ops_scaled_by_their_gates() {
        let device = Device::flex();
        let x = Tensor::<4>::ones([1, 1, 1, 1], &device);
        let gates = Tensor::<2>::from_data(TensorData::new(vec![0.0f32, 2.0, 0.0, 0.5, 0.0, 0.0], [2, 3]), &device);
        let mix =
            EdgeMix { kind: MixKind::Sampled { active: vec![vec![1], vec![0]], gates }, partial: 1, edge_scale: None };
        let mut ran = Vec::new();
        let y0 = mix.apply(0, x.clone(), |o, x| {
            ran.push(o);
            Some(x * (o as f32 + 1.0))
        });
        assert_eq!(ran, vec![1]);
        assert_eq!(values(y0.expect("out")), vec![4.0]);
        let y1 = mix.apply(1, x, |_, _| None);
        assert!(y1.is_none(), "a zero op contributes nothing");
    }

    #[test]
    fn edge_scale_multiplies_the_edge_output() {
        let device = Device::flex();
        let x = Tensor::<4>::ones([1, 1, 1, 1], &device);
        let w = Tensor::<2>::from_data(TensorData::new(vec![0.25f32, 0.75, 0.5, 0.5], [2, 2]), &device);
        let scale = Tensor::<1>::from_data(TensorData::new(vec![1.0f32, 3.0], [2]), &device);
        let mix = EdgeMix { kind: MixKind::Dense(w), partial: 1, edge_scale: Some(scale) };
        let y = mix.apply(1, x, |o, x| Some(x * (o as f32 + 1.0))).expect("out");
        // (0.5 * 1 + 0.5 * 2) * 3
        assert_eq!(values(y), vec![4.5]);
    }
}
