//! The quantization methods and their names.

use std::fmt;
use std::str::FromStr;

use crate::error::AmqError;

/// Default number of alternating cycles: the paper finds that two cycles after a greedy
/// initialisation are "good enough" and uses `T = 2` for the on-line activation quantizer.
pub const DEFAULT_CYCLES: usize = 2;

/// A quantization method (see the [module docs](crate::quant) for the algorithms).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    /// Uniform levels on `[−max|w|, max|w|]` (Hubara et al.), expressed as a BCQ code.
    Uniform,
    /// Rank-balanced bins mapped onto uniform levels (Zhou et al. 2017), as a BCQ code.
    Balanced,
    /// Greedy residual binarisation (Guo et al. 2017).
    Greedy,
    /// Greedy with a least-squares refit of all α after every step (Guo et al. 2017).
    Refined,
    /// Greedy initialisation followed by `cycles` rounds of (α by least squares, B by
    /// binary-search-tree code assignment) (Xu et al. 2018). `cycles = 0` is greedy.
    Alternating {
        /// Number of alternating cycles `T`.
        cycles: usize,
    },
}

impl Default for Method {
    /// `Alternating { cycles: 2 }`.
    fn default() -> Self {
        Self::alternating()
    }
}

impl Method {
    /// Alternating quantization with the paper's `T = 2` cycles.
    pub const fn alternating() -> Self {
        Method::Alternating {
            cycles: DEFAULT_CYCLES,
        }
    }

    /// Lowercase name without parameters: `"uniform"`, `"balanced"`, `"greedy"`,
    /// `"refined"` or `"alternating"`.
    pub fn name(&self) -> &'static str {
        match self {
            Method::Uniform => "uniform",
            Method::Balanced => "balanced",
            Method::Greedy => "greedy",
            Method::Refined => "refined",
            Method::Alternating { .. } => "alternating",
        }
    }
}

impl fmt::Display for Method {
    /// The name, with `:T` for alternating (`"alternating:2"`), so that it parses back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Method::Alternating { cycles } => write!(f, "alternating:{cycles}"),
            other => f.write_str(other.name()),
        }
    }
}

impl FromStr for Method {
    type Err = AmqError;

    /// Parses a method name (case-insensitive, surrounding whitespace ignored):
    /// `uniform`, `balanced`, `greedy`, `refined`, `alternating` (T = 2) or
    /// `alternating:T` for an explicit number of cycles.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let (name, arg) = match lower.split_once(':') {
            Some((name, arg)) => (name.trim(), Some(arg.trim())),
            None => (lower.as_str(), None),
        };
        let method = match name {
            "uniform" => Method::Uniform,
            "balanced" => Method::Balanced,
            "greedy" => Method::Greedy,
            "refined" => Method::Refined,
            "alternating" => match arg {
                None => Method::alternating(),
                Some(t) => Method::Alternating {
                    cycles: t.parse().map_err(|_| {
                        AmqError::InvalidArgument(format!(
                            "alternating cycles must be a non-negative integer, got {t:?}"
                        ))
                    })?,
                },
            },
            _ => {
                return Err(AmqError::InvalidArgument(format!(
                    "unknown quantization method {s:?} (expected uniform, balanced, greedy, \
                     refined, alternating or alternating:T)"
                )));
            }
        };
        if arg.is_some() && !matches!(method, Method::Alternating { .. }) {
            return Err(AmqError::InvalidArgument(format!(
                "method {name:?} takes no parameter (got {s:?})"
            )));
        }
        Ok(method)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_names_and_cycles() {
        assert_eq!("alternating".parse::<Method>(), Ok(Method::alternating()));
        assert_eq!(
            " Alternating:3 ".parse::<Method>(),
            Ok(Method::Alternating { cycles: 3 })
        );
        assert_eq!("greedy".parse::<Method>(), Ok(Method::Greedy));
        assert_eq!("refined".parse::<Method>(), Ok(Method::Refined));
        assert_eq!("uniform".parse::<Method>(), Ok(Method::Uniform));
        assert_eq!("BALANCED".parse::<Method>(), Ok(Method::Balanced));
        for bad in ["", "alt", "alternating:x", "alternating:-1", "greedy:2"] {
            assert!(
                matches!(bad.parse::<Method>(), Err(AmqError::InvalidArgument(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn display_round_trips_and_default() {
        assert_eq!(Method::default(), Method::Alternating { cycles: 2 });
        for m in [
            Method::Uniform,
            Method::Balanced,
            Method::Greedy,
            Method::Refined,
            Method::Alternating { cycles: 0 },
            Method::Alternating { cycles: 7 },
        ] {
            assert_eq!(m.to_string().parse::<Method>(), Ok(m));
            assert!(m.to_string().starts_with(m.name()));
        }
    }
}
