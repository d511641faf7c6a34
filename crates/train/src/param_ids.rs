//! Parameter identity by path, so optimizer state survives a reload.
//!
//! Burn keys optimizer state by [`ParamId`], a random id given to each parameter when the
//! module is built. A model re-created and loaded from an HF checkpoint (safetensors) gets new
//! ids, so the saved AdamW moments would no longer find their parameters. A checkpoint therefore
//! stores `param_ids.json` (`path → id`, e.g. `layers.0.q_proj.weight → 1234…`) and resume
//! re-assigns the saved ids to the freshly loaded model by path before loading the optimizer.

use std::collections::BTreeMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// `parameter path → ParamId` of every float parameter of a module.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ParamIds(BTreeMap<String, u64>);

impl ParamIds {
    /// Reads the ids of `model`'s float parameters.
    pub fn collect<M: Module>(model: &M) -> Self {
        let mut visitor = Collect {
            path: Vec::new(),
            ids: BTreeMap::new(),
        };
        model.visit(&mut visitor);
        Self(visitor.ids)
    }

    /// Gives every parameter of `model` the id saved for its path.
    ///
    /// Returns the model and the paths of `model` that have no saved id (left unchanged; their
    /// optimizer state starts fresh). Saved paths the model lacks are ignored.
    pub fn apply<M: Module>(&self, model: M) -> (M, Vec<String>) {
        let mut mapper = Assign {
            path: Vec::new(),
            ids: &self.0,
            missing: Vec::new(),
        };
        let model = model.map(&mut mapper);
        (model, mapper.missing)
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there is no parameter.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The id saved for `path`.
    pub fn get(&self, path: &str) -> Option<ParamId> {
        self.0.get(path).map(|&id| ParamId::from(id))
    }

    /// Iterates over `(path, id)` in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, ParamId)> {
        self.0
            .iter()
            .map(|(p, &id)| (p.as_str(), ParamId::from(id)))
    }
}

/// Enum modules (a projection that is `Dense` or `Quantized`) add their variant as a path
/// level; it is left out, so a path names the parameter whichever form its layer has
/// (`model.layers.0.self_attn.q_proj.weight`).
fn is_variant(container_type: &str) -> bool {
    container_type.starts_with("Enum:")
}

fn enter(path: &mut Vec<String>, name: &str, container_type: &str) {
    if !is_variant(container_type) {
        path.push(name.to_string());
    }
}

fn exit(path: &mut Vec<String>, container_type: &str) {
    if !is_variant(container_type) {
        path.pop();
    }
}

struct Collect {
    path: Vec<String>,
    ids: BTreeMap<String, u64>,
}

impl ModuleVisitor for Collect {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        enter(&mut self.path, name, container_type);
    }

    fn exit_module(&mut self, _name: &str, container_type: &str) {
        exit(&mut self.path, container_type);
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.ids.insert(self.path.join("."), param.id.val());
    }
}

struct Assign<'a> {
    path: Vec<String>,
    ids: &'a BTreeMap<String, u64>,
    missing: Vec<String>,
}

impl ModuleMapper for Assign<'_> {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        enter(&mut self.path, name, container_type);
    }

    fn exit_module(&mut self, _name: &str, container_type: &str) {
        exit(&mut self.path, container_type);
    }

    fn map_float<const D: usize>(&mut self, mut param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let path = self.path.join(".");
        match self.ids.get(&path) {
            Some(&id) => param.id = ParamId::from(id),
            None => self.missing.push(path),
        }
        param
    }
}
