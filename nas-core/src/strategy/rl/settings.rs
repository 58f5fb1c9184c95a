//! `[strategy] kind = "reinforce"` and `kind = "marl"`: the settings of the
//! policy-gradient controllers.

use super::controller::PolicyGradient;
use super::reward::RewardConfig;
use crate::capability::Capability;
use crate::dynspace::{AnyArch, DynSpace};
use crate::error::Result;
use crate::registry::{StrategyContext, StrategySettings};
use crate::strategy::{SearchStrategy, check_at_least, invalid};
use serde::{Deserialize, Serialize};

/// Which policy each agent uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyKind {
    /// Independent categorical per decision (TuNAS / ProxylessNAS RL).
    #[default]
    Categorical,
    /// Autoregressive LSTM (NASNet / ENAS).
    Lstm,
}

/// How the decisions are split among agents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grouping {
    /// One agent for every decision (REINFORCE).
    #[default]
    Single,
    /// One agent per group the space declares (cell, stage, network vs hardware).
    Space,
    /// One agent per decision.
    Decision,
}

/// The baseline subtracted from the reward.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BaselineKind {
    /// Exponential moving average of the batch-mean reward, one per agent.
    #[default]
    MovingAverage,
    /// A shared critic: a ridge-regressed linear value of the one-hot decisions
    /// over everything evaluated so far; each agent's baseline is the critic
    /// with the agent's own decisions averaged out under its policy (a
    /// counterfactual baseline, independent of the agent's own action).
    Critic,
}

/// Settings of a policy-gradient controller (both kinds).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ControllerConfig {
    /// `categorical` (default) or `lstm`.
    pub policy: PolicyKind,
    /// LSTM hidden and embedding size (default 64).
    pub hidden: usize,
    /// Adam learning rate of the policy (default 0.1 for `categorical`, 0.01
    /// for `lstm`: the best of a sweep on NB201, see the README).
    pub learning_rate: Option<f64>,
    /// Weight of the entropy bonus (default 0.05).
    pub entropy_weight: f64,
    /// Decay of the moving-average baseline (default 0.9).
    pub baseline_decay: f64,
    /// Divide advantages by a moving estimate of their standard deviation, so the
    /// learning rate does not depend on the reward's unit (default true).
    pub normalize_advantage: bool,
    /// ENAS logit temperature (LSTM only; default none).
    pub temperature: Option<f64>,
    /// ENAS tanh constant (LSTM only; default none).
    pub tanh_constant: Option<f64>,
    /// Samples drawn per architecture asked before the controller gives up on
    /// finding a new one and proposes a uniform random new one (default 20).
    pub draws_per_proposal: usize,
    /// The reward.
    pub reward: RewardConfig,

    /// How decisions are split among agents (`single`, `space`, `decision`;
    /// default `single` for `reinforce`, `space` for `marl`).
    pub grouping: Option<Grouping>,
    /// Explicit agents: each a list of the space's group names (every group
    /// exactly once). Overrides `grouping` when not empty.
    pub groups: Vec<Vec<String>>,
    /// `moving_average` or `critic`.
    pub baseline: BaselineKind,
    /// Ridge penalty of the critic (default 1.0).
    pub critic_ridge: f64,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            policy: PolicyKind::Categorical,
            hidden: 64,
            learning_rate: None,
            entropy_weight: 0.05,
            baseline_decay: 0.9,
            normalize_advantage: true,
            temperature: None,
            tanh_constant: None,
            draws_per_proposal: 20,
            reward: RewardConfig::Rank {},
            grouping: None,
            groups: Vec::new(),
            baseline: BaselineKind::MovingAverage,
            critic_ridge: 1.0,
        }
    }
}

impl ControllerConfig {
    /// The learning rate, with the policy's default.
    pub fn learning_rate(&self) -> f64 {
        self.learning_rate.unwrap_or(match self.policy {
            PolicyKind::Categorical => 0.1,
            PolicyKind::Lstm => 0.01,
        })
    }

    /// The grouping, with `kind`'s default (`single` for `reinforce`, `space` for `marl`).
    pub fn grouping(&self, kind: &str) -> Grouping {
        self.grouping.unwrap_or(if kind == "marl" { Grouping::Space } else { Grouping::Single })
    }

    /// Checks the values; `kind` names the strategy.
    pub fn validate(&self, kind: &str) -> Result<()> {
        crate::NasError::check_size("hidden", self.hidden, 1, 4096)?;
        check_at_least("draws_per_proposal", self.draws_per_proposal, 1)?;
        let positive = |field: &str, v: f64| {
            if v.is_finite() && v > 0.0 { Ok(()) } else { Err(invalid(field, v, "a positive number")) }
        };
        if let Some(lr) = self.learning_rate {
            positive("learning_rate", lr)?;
        }
        if !(self.entropy_weight.is_finite() && self.entropy_weight >= 0.0) {
            return Err(invalid("entropy_weight", self.entropy_weight, "a number >= 0"));
        }
        if !(0.0..1.0).contains(&self.baseline_decay) {
            return Err(invalid("baseline_decay", self.baseline_decay, "a number in [0, 1)"));
        }
        if let Some(t) = self.temperature {
            positive("temperature", t)?;
        }
        if let Some(c) = self.tanh_constant {
            positive("tanh_constant", c)?;
        }
        if !(self.critic_ridge.is_finite() && self.critic_ridge >= 0.0) {
            return Err(invalid("critic_ridge", self.critic_ridge, "a number >= 0"));
        }
        if kind == "marl" && self.grouping(kind) == Grouping::Single && self.groups.is_empty() {
            return Err(invalid(
                "grouping",
                "single",
                "`space` or `decision` for `marl` (one agent is `kind = \"reinforce\"`)",
            ));
        }
        if self.groups.iter().any(Vec::is_empty) {
            return Err(invalid("groups", "[]", "non-empty lists of the space's group names"));
        }
        self.reward.validate()
    }
}

/// `[strategy] kind = "reinforce"`: one REINFORCE controller over every decision.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReinforceConfig(pub ControllerConfig);

/// `[strategy] kind = "marl"`: one REINFORCE agent per group of decisions,
/// a shared reward.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MarlConfig(pub ControllerConfig);

fn build(
    config: &ControllerConfig,
    kind: &'static str,
    ctx: &StrategyContext<'_>,
) -> Result<Box<dyn SearchStrategy<DynSpace>>> {
    config.validate(kind)?;
    let reward = config.reward.resolve(ctx.problem)?;
    let strategy = PolicyGradient::<AnyArch>::new(kind, config.clone(), reward, ctx.space, ctx.workdir, ctx.quiet)?;
    Ok(Box::new(strategy))
}

/// The registry side of a controller kind: its name, description and the
/// one capability it needs.
macro_rules! controller_settings {
    ($ty:ident, $name:literal, $desc:literal) => {
        impl StrategySettings for $ty {
            const NAME: &'static str = $name;
            const DESCRIPTION: &'static str = $desc;
            fn validate(&self) -> Result<()> {
                self.0.validate(Self::NAME)
            }
            fn needs(&self) -> Vec<Capability> {
                vec![Capability::Decisions]
            }
            fn build(&self, ctx: &StrategyContext<'_>) -> Result<Box<dyn SearchStrategy<DynSpace>>> {
                build(&self.0, Self::NAME, ctx)
            }
        }
    };
}

controller_settings!(
    ReinforceConfig,
    "reinforce",
    "REINFORCE controller (LSTM as NASNet/ENAS, or independent categorical as TuNAS), Pareto or MnasNet reward"
);
controller_settings!(
    MarlConfig,
    "marl",
    "multi-agent REINFORCE: one agent per group of decisions (cell, stage, network vs hardware), shared reward"
);
