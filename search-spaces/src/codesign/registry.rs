//! The `codesign` space as a registry component: `[space] kind = "codesign"`
//! with `[[space.tasks]]` (a name and a nested `space = { kind = ... }`, any
//! registered space that lowers to layers) and `[space.hardware]`.

use super::hardware::HardwareConfig;
use super::space::CoDesignSpace;
use nas_core::hardware::CoDesignTask;
use nas_core::registry::CompositeSpaceSettings;
use nas_core::{DynSpace, NasError, Result};
use serde::{Deserialize, Serialize};

/// One task: its name and its network space section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskConfig {
    /// The task's name (letters, digits, `_`, `-`), e.g. `cifar10`.
    pub name: String,
    /// Its network space: `{ kind = "nb201" }`, `{ kind = "darts", ... }`, ...
    pub space: serde_json::Value,
}

/// Settings of the `codesign` space.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoDesignConfig {
    /// The tasks (default: `cifar10` and `cifar100`, both NB201).
    pub tasks: Vec<TaskConfig>,
    /// The accelerator ladders and budgets.
    pub hardware: HardwareConfig,
}

impl Default for CoDesignConfig {
    fn default() -> Self {
        let nb201 = |name: &str| TaskConfig { name: name.into(), space: serde_json::json!({ "kind": "nb201" }) };
        CoDesignConfig { tasks: vec![nb201("cifar10"), nb201("cifar100")], hardware: HardwareConfig::default() }
    }
}

impl CompositeSpaceSettings for CoDesignConfig {
    const NAME: &'static str = "codesign";
    const DESCRIPTION: &'static str =
        "networks of one or more tasks x a heterogeneous accelerator (ws/os/rs sub-accelerators) x the mapping";
    type Space = CoDesignSpace;

    fn parts(&self) -> Vec<(String, serde_json::Value)> {
        self.tasks.iter().enumerate().map(|(i, t)| (format!("tasks[{i}].space"), t.space.clone())).collect()
    }

    fn with_parts(&self, resolved: Vec<serde_json::Value>) -> Self {
        let tasks =
            self.tasks.iter().zip(resolved).map(|(t, space)| TaskConfig { name: t.name.clone(), space }).collect();
        CoDesignConfig { tasks, hardware: self.hardware.clone() }
    }

    fn validate(&self) -> Result<()> {
        self.hardware.validate()?;
        if self.tasks.is_empty() {
            return Err(NasError::InvalidValue {
                field: "tasks".into(),
                value: "[]".into(),
                allowed: "one or more `[[space.tasks]]` with `name` and `space = { kind = ... }`".into(),
            });
        }
        Ok(())
    }

    fn build(&self, parts: Vec<DynSpace>) -> Result<CoDesignSpace> {
        let tasks =
            self.tasks.iter().zip(parts).map(|(t, space)| CoDesignTask { name: t.name.clone(), space }).collect();
        CoDesignSpace::new(tasks, self.hardware.clone())
    }
}
