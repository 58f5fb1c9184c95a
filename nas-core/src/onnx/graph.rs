//! [`OnnxGraph`]: builds an ONNX graph node by node from burn modules, their
//! weights becoming the graph's initializers.

use super::OnnxError;
use super::proto::{
    ATTRIBUTE_FLOAT, ATTRIBUTE_INT, ATTRIBUTE_INTS, AttributeProto, DATA_TYPE_FLOAT, DATA_TYPE_INT64, DimensionProto,
    GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto, TensorProto, TensorShapeProto,
    TensorTypeProto, TypeProto, ValueInfoProto,
};
use burn::module::Param;
use burn::nn::conv::Conv2d;
use burn::nn::pool::{AvgPool2d, MaxPool2d};
use burn::nn::{BatchNorm, Linear, PaddingConfig2d};
use burn::prelude::*;
use prost::Message;

/// The ONNX operator set the graphs use (opset 13: `Slice` with tensor inputs,
/// `BatchNormalization` in inference form).
pub const OPSET: i64 = 13;
/// The ONNX IR version written (8, read by onnxruntime >= 1.10 and tract).
pub const IR_VERSION: i64 = 8;

/// A value (tensor) of the graph under construction, by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OnnxValue(String);

impl OnnxValue {
    /// The value's name in the graph.
    pub fn name(&self) -> &str {
        &self.0
    }
}

/// An ONNX graph being built: nodes in topological order, initializers holding
/// the weights. A network writes itself into one with
/// [`ImageClassifier::to_onnx`](crate::train::ImageClassifier::to_onnx), one
/// method per burn module it uses, in the order of its forward pass.
#[derive(Debug, Default)]
pub struct OnnxGraph {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    trainable: u64,
    next: usize,
    scope: Vec<String>,
}

/// What [`OnnxGraph::finish`] needs besides the graph.
#[derive(Clone, Debug, Default)]
pub struct OnnxModelInfo {
    /// Graph name.
    pub name: String,
    /// Input shape `[channels, height, width]` (the batch size is symbolic).
    pub input_chw: [usize; 3],
    /// Free-form metadata (`metadata_props`).
    pub metadata: Vec<(String, String)>,
    /// Description (`doc_string`).
    pub doc: String,
}

/// An encoded ONNX model with what was counted while building it.
#[derive(Clone, Debug)]
pub struct OnnxModel {
    /// The protobuf bytes of the `.onnx` file.
    pub bytes: Vec<u8>,
    /// Trainable parameters in the graph (initializers other than batch-norm
    /// running statistics and shape constants), comparable with
    /// [`NetworkSpec::params`](crate::NetworkSpec::params).
    pub parameters: u64,
    /// Nodes in the graph.
    pub nodes: usize,
}

fn attr_int(name: &str, i: i64) -> AttributeProto {
    AttributeProto { name: name.into(), i, r#type: ATTRIBUTE_INT, ..Default::default() }
}

fn attr_float(name: &str, f: f32) -> AttributeProto {
    AttributeProto { name: name.into(), f, r#type: ATTRIBUTE_FLOAT, ..Default::default() }
}

fn attr_ints(name: &str, ints: &[usize]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        ints: ints.iter().map(|&v| v as i64).collect(),
        r#type: ATTRIBUTE_INTS,
        ..Default::default()
    }
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_into_vec::<f32>().unwrap_or_default()
}

/// ONNX `pads` (`[top, left, bottom, right]`) of a burn 2-D padding.
fn pads(
    padding: &PaddingConfig2d,
    kernel: [usize; 2],
    stride: [usize; 2],
    what: &str,
) -> Result<[usize; 4], OnnxError> {
    match *padding {
        PaddingConfig2d::Valid => Ok([0; 4]),
        PaddingConfig2d::Explicit(top, left, bottom, right) => Ok([top, left, bottom, right]),
        PaddingConfig2d::Same if stride == [1, 1] && kernel.iter().all(|k| k % 2 == 1) => {
            let [h, w] = kernel.map(|k| (k - 1) / 2);
            Ok([h, w, h, w])
        }
        PaddingConfig2d::Same => Err(OnnxError::Unsupported {
            what: format!("{what}: `Same` padding with stride {stride:?} and kernel {kernel:?}"),
        }),
    }
}

impl OnnxGraph {
    /// An empty graph.
    pub fn new() -> Self {
        OnnxGraph::default()
    }

    /// Prefixes the names of the nodes and weights added until the matching
    /// [`pop_scope`](Self::pop_scope) (`stages.1.cells.0`): the exported file
    /// reads like the burn module tree.
    pub fn push_scope(&mut self, name: impl Into<String>) {
        self.scope.push(name.into());
    }

    /// Ends the innermost scope.
    pub fn pop_scope(&mut self) {
        self.scope.pop();
    }

    fn fresh(&mut self, op: &str) -> String {
        self.next += 1;
        let mut name = self.scope.join(".");
        if !name.is_empty() {
            name.push('.');
        }
        name.push_str(&format!("{op}_{}", self.next));
        name
    }

    fn node(&mut self, op: &str, inputs: Vec<String>, attributes: Vec<AttributeProto>) -> OnnxValue {
        let name = self.fresh(op);
        let output = format!("{name}:out");
        self.nodes.push(NodeProto {
            input: inputs,
            output: vec![output.clone()],
            name,
            op_type: op.into(),
            attribute: attributes,
        });
        OnnxValue(output)
    }

    fn initializer(&mut self, base: &str, field: &str, dims: &[usize], data: Vec<f32>, trainable: bool) -> String {
        let name = format!("{base}.{field}");
        if trainable {
            self.trainable += data.len() as u64;
        }
        self.initializers.push(TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: DATA_TYPE_FLOAT,
            name: name.clone(),
            raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        });
        name
    }

    fn int64_constant(&mut self, base: &str, field: &str, data: &[i64]) -> String {
        let name = format!("{base}.{field}");
        self.initializers.push(TensorProto {
            dims: vec![data.len() as i64],
            data_type: DATA_TYPE_INT64,
            name: name.clone(),
            raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        });
        name
    }

    fn param<const D: usize>(
        &mut self,
        base: &str,
        field: &str,
        p: &Param<Tensor<D>>,
        trainable: bool,
    ) -> (String, [usize; D]) {
        let t = p.val();
        let dims = t.dims();
        let name = self.initializer(base, field, &dims, values(t), trainable);
        (name, dims)
    }

    /// `Conv` with the module's weight, bias, stride, padding, dilation and groups.
    pub fn conv2d(&mut self, x: &OnnxValue, conv: &Conv2d) -> Result<OnnxValue, OnnxError> {
        let base = self.fresh("Conv");
        let pads = pads(&conv.padding, conv.kernel_size, conv.stride, &base)?;
        let (w, _) = self.param(&base, "weight", &conv.weight, true);
        let mut inputs = vec![x.0.clone(), w];
        if let Some(b) = &conv.bias {
            inputs.push(self.param(&base, "bias", b, true).0);
        }
        let attributes = vec![
            attr_ints("kernel_shape", &conv.kernel_size),
            attr_ints("strides", &conv.stride),
            attr_ints("pads", &pads),
            attr_ints("dilations", &conv.dilation),
            attr_int("group", conv.groups as i64),
        ];
        Ok(self.node("Conv", inputs, attributes))
    }

    /// `BatchNormalization` in inference form (the running statistics).
    pub fn batch_norm(&mut self, x: &OnnxValue, bn: &BatchNorm) -> OnnxValue {
        let base = self.fresh("BatchNormalization");
        let (scale, dims) = self.param(&base, "gamma", &bn.gamma, true);
        let (bias, _) = self.param(&base, "beta", &bn.beta, true);
        let mean = self.initializer(&base, "running_mean", &dims, values(bn.running_mean.value()), false);
        let var = self.initializer(&base, "running_var", &dims, values(bn.running_var.value()), false);
        self.node(
            "BatchNormalization",
            vec![x.0.clone(), scale, bias, mean, var],
            vec![attr_float("epsilon", bn.epsilon as f32)],
        )
    }

    /// `Relu`.
    pub fn relu(&mut self, x: &OnnxValue) -> OnnxValue {
        self.node("Relu", vec![x.0.clone()], Vec::new())
    }

    /// `AveragePool` with the module's kernel, stride, padding and padding rule.
    pub fn avg_pool2d(&mut self, x: &OnnxValue, pool: &AvgPool2d) -> Result<OnnxValue, OnnxError> {
        let what = format!("AveragePool after {}", x.0);
        let pads = pads(&pool.padding, pool.kernel_size, pool.stride, &what)?;
        let attributes = vec![
            attr_ints("kernel_shape", &pool.kernel_size),
            attr_ints("strides", &pool.stride),
            attr_ints("pads", &pads),
            attr_int("count_include_pad", i64::from(pool.count_include_pad)),
            attr_int("ceil_mode", i64::from(pool.ceil_mode)),
        ];
        Ok(self.node("AveragePool", vec![x.0.clone()], attributes))
    }

    /// `MaxPool` with the module's kernel, stride, padding and dilation.
    pub fn max_pool2d(&mut self, x: &OnnxValue, pool: &MaxPool2d) -> Result<OnnxValue, OnnxError> {
        let what = format!("MaxPool after {}", x.0);
        let pads = pads(&pool.padding, pool.kernel_size, pool.stride, &what)?;
        let attributes = vec![
            attr_ints("kernel_shape", &pool.kernel_size),
            attr_ints("strides", &pool.stride),
            attr_ints("pads", &pads),
            attr_ints("dilations", &pool.dilation),
            attr_int("ceil_mode", i64::from(pool.ceil_mode)),
        ];
        Ok(self.node("MaxPool", vec![x.0.clone()], attributes))
    }

    /// `Add` (same shapes).
    pub fn add(&mut self, a: &OnnxValue, b: &OnnxValue) -> OnnxValue {
        self.node("Add", vec![a.0.clone(), b.0.clone()], Vec::new())
    }

    /// The sum of `terms` (at least one).
    pub fn sum(&mut self, terms: &[OnnxValue]) -> Option<OnnxValue> {
        let (first, rest) = terms.split_first()?;
        Some(rest.iter().fold(first.clone(), |acc, t| self.add(&acc, t)))
    }

    /// Zeros of `x`'s shape (`x * 0`; the inputs are finite).
    pub fn zeros_like(&mut self, x: &OnnxValue) -> OnnxValue {
        let base = self.fresh("Zero");
        let zero = self.initializer(&base, "zero", &[], vec![0.0], false);
        self.node("Mul", vec![x.0.clone(), zero], Vec::new())
    }

    /// `Concat` along `axis`.
    pub fn concat(&mut self, xs: &[OnnxValue], axis: i64) -> OnnxValue {
        let inputs = xs.iter().map(|v| v.0.clone()).collect();
        self.node(
            "Concat",
            inputs,
            vec![AttributeProto { name: "axis".into(), i: axis, r#type: ATTRIBUTE_INT, ..Default::default() }],
        )
    }

    /// `x[:, :, from.., from..]` of an NCHW tensor (`Slice`).
    pub fn crop_top_left(&mut self, x: &OnnxValue, from: usize) -> OnnxValue {
        let base = self.fresh("Slice");
        let starts = self.int64_constant(&base, "starts", &[from as i64, from as i64]);
        let ends = self.int64_constant(&base, "ends", &[i64::MAX, i64::MAX]);
        let axes = self.int64_constant(&base, "axes", &[2, 3]);
        self.node("Slice", vec![x.0.clone(), starts, ends, axes], Vec::new())
    }

    /// Global average pooling to `[N, C]` (`GlobalAveragePool`, `Flatten`).
    pub fn global_avg_pool(&mut self, x: &OnnxValue) -> OnnxValue {
        let pooled = self.node("GlobalAveragePool", vec![x.0.clone()], Vec::new());
        self.node("Flatten", vec![pooled.0], vec![attr_int("axis", 1)])
    }

    /// `[N, C, 1, 1]` (or any `[N, ...]`) to `[N, rest]` (`Flatten`).
    pub fn flatten(&mut self, x: &OnnxValue) -> OnnxValue {
        self.node("Flatten", vec![x.0.clone()], vec![attr_int("axis", 1)])
    }

    /// `Gemm` of burn's `Linear` (weight `[in, out]`, optional bias).
    pub fn linear(&mut self, x: &OnnxValue, linear: &Linear) -> OnnxValue {
        let base = self.fresh("Gemm");
        let (w, dims) = self.param(&base, "weight", &linear.weight, true);
        let mut inputs = vec![x.0.clone(), w];
        match &linear.bias {
            Some(b) => inputs.push(self.param(&base, "bias", b, true).0),
            None => inputs.push(self.initializer(&base, "bias", &[dims[1]], vec![0.0; dims[1]], false)),
        }
        self.node("Gemm", inputs, Vec::new())
    }

    /// Trainable parameters added so far (see [`OnnxModel::parameters`]).
    pub fn trainable_parameters(&self) -> u64 {
        self.trainable
    }

    /// Encodes the model: `input` (the images, `[N, C, H, W]`, `N` symbolic)
    /// to `output` (the logits `[N, classes]`).
    pub fn finish(self, input: &OnnxValue, output: &OnnxValue, info: &OnnxModelInfo) -> OnnxModel {
        let dim = |d: usize| DimensionProto { dim_value: Some(d as i64), dim_param: None };
        let batch = DimensionProto { dim_value: None, dim_param: Some("N".into()) };
        let tensor_type = |dims: Vec<DimensionProto>| {
            Some(TypeProto {
                tensor_type: Some(TensorTypeProto {
                    elem_type: DATA_TYPE_FLOAT,
                    shape: Some(TensorShapeProto { dim: dims }),
                }),
            })
        };
        let [c, h, w] = info.input_chw;
        let nodes = self.nodes.len();
        let graph = GraphProto {
            node: self.nodes,
            name: info.name.clone(),
            initializer: self.initializers,
            doc_string: String::new(),
            input: vec![ValueInfoProto {
                name: input.0.clone(),
                r#type: tensor_type(vec![batch.clone(), dim(c), dim(h), dim(w)]),
            }],
            output: vec![ValueInfoProto {
                name: output.0.clone(),
                r#type: tensor_type(vec![batch, DimensionProto { dim_value: None, dim_param: Some("classes".into()) }]),
            }],
        };
        let model = ModelProto {
            ir_version: IR_VERSION,
            opset_import: vec![OperatorSetIdProto { domain: String::new(), version: OPSET }],
            producer_name: "hwnas".into(),
            producer_version: env!("CARGO_PKG_VERSION").into(),
            domain: "hwnas".into(),
            model_version: 1,
            doc_string: info.doc.clone(),
            graph: Some(graph),
            metadata_props: info
                .metadata
                .iter()
                .map(|(k, v)| StringStringEntryProto { key: k.clone(), value: v.clone() })
                .collect(),
        };
        OnnxModel { bytes: model.encode_to_vec(), parameters: self.trainable, nodes }
    }

    /// The name of the graph input (`images`).
    pub fn input() -> OnnxValue {
        OnnxValue("images".into())
    }
}
