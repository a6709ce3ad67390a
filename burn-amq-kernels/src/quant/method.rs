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
    /// [`Method::Alternating`] plus one more least-squares refit of α on the final planes
    /// (this crate's addition, not the paper's). The paper's loop ends on a B update, so its
    /// α is fitted to the previous planes and the reconstruction comes out shrunk: the best
    /// scalar rescale of `Ŵ` is 1.055–1.063 at 2 bits and `T = 2` on Laplace rows, as the
    /// `final_refit` unit test prints. The extra refit removes that bias and never increases
    /// the error.
    AlternatingRefit {
        /// Number of alternating cycles `T` before the final refit; 0 is refined-like
        /// greedy (greedy planes, least-squares α).
        cycles: usize,
    },
    /// [`Method::Alternating`] run twice per vector, from the paper's greedy start and from
    /// the uniform levels on `[−max|w|, max|w|]`, keeping the result with the lower squared
    /// error (the greedy one on a tie; the errors are compared in f64 through the normal
    /// equations, so "lower" holds to rounding). This crate's addition, not the paper's: never
    /// worse than `Alternating`, at about twice its cost. It matters for rows with a few entries far
    /// larger than the rest, such as a recurrent matrix with a large diagonal, where the
    /// greedy start sets every α from mean residuals and the cycles cannot move a level out
    /// to the large entries.
    AlternatingMultiStart {
        /// Number of alternating cycles `T` after each start.
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
    /// `"refined"`, `"alternating"`, `"alternating-refit"` or `"alternating-multistart"`.
    pub fn name(&self) -> &'static str {
        match self {
            Method::Uniform => "uniform",
            Method::Balanced => "balanced",
            Method::Greedy => "greedy",
            Method::Refined => "refined",
            Method::Alternating { .. } => "alternating",
            Method::AlternatingRefit { .. } => "alternating-refit",
            Method::AlternatingMultiStart { .. } => "alternating-multistart",
        }
    }

    /// The number of alternating cycles `T` of the alternating methods, `None` for the
    /// others (which take no parameter).
    pub const fn cycles(&self) -> Option<usize> {
        match self {
            Method::Alternating { cycles }
            | Method::AlternatingRefit { cycles }
            | Method::AlternatingMultiStart { cycles } => Some(*cycles),
            _ => None,
        }
    }

    /// Whether this is one of the search methods that build a binary code from the data
    /// (greedy, refined and the alternating methods), as opposed to the fixed-level
    /// uniform and balanced baselines. Only these quantize activations.
    pub const fn is_search(&self) -> bool {
        matches!(
            self,
            Method::Greedy
                | Method::Refined
                | Method::Alternating { .. }
                | Method::AlternatingRefit { .. }
                | Method::AlternatingMultiStart { .. }
        )
    }
}

impl fmt::Display for Method {
    /// The name, with `:T` for alternating (`"alternating:2"`), so that it parses back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.cycles() {
            Some(cycles) => write!(f, "{}:{cycles}", self.name()),
            None => f.write_str(self.name()),
        }
    }
}

/// `T` of `alternating:T` (the paper's 2 when absent).
fn parse_cycles(arg: Option<&str>) -> Result<usize, AmqError> {
    match arg {
        None => Ok(DEFAULT_CYCLES),
        Some(t) => t.parse().map_err(|_| {
            AmqError::InvalidArgument(format!(
                "alternating cycles must be a non-negative integer, got {t:?}"
            ))
        }),
    }
}

impl FromStr for Method {
    type Err = AmqError;

    /// Parses a method name (case-insensitive, surrounding whitespace ignored):
    /// `uniform`, `balanced`, `greedy`, `refined`, `alternating` (T = 2) or
    /// `alternating:T` for an explicit number of cycles, `alternating-refit[:T]` and
    /// `alternating-multistart[:T]`.
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
            "alternating" => Method::Alternating {
                cycles: parse_cycles(arg)?,
            },
            "alternating-refit" => Method::AlternatingRefit {
                cycles: parse_cycles(arg)?,
            },
            "alternating-multistart" => Method::AlternatingMultiStart {
                cycles: parse_cycles(arg)?,
            },
            _ => {
                return Err(AmqError::InvalidArgument(format!(
                    "unknown quantization method {s:?} (expected uniform, balanced, greedy, \
                     refined, alternating[:T], alternating-refit[:T] or \
                     alternating-multistart[:T])"
                )));
            }
        };
        if arg.is_some() && method.cycles().is_none() {
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
        assert_eq!(
            "alternating-refit".parse::<Method>(),
            Ok(Method::AlternatingRefit { cycles: 2 })
        );
        assert_eq!(
            "alternating-refit:5".parse::<Method>(),
            Ok(Method::AlternatingRefit { cycles: 5 })
        );
        assert_eq!(
            "alternating-multistart:3".parse::<Method>(),
            Ok(Method::AlternatingMultiStart { cycles: 3 })
        );
        assert_eq!(
            "alternating-multistart".parse::<Method>(),
            Ok(Method::AlternatingMultiStart { cycles: 2 })
        );
        assert_eq!("greedy".parse::<Method>(), Ok(Method::Greedy));
        assert_eq!("refined".parse::<Method>(), Ok(Method::Refined));
        assert_eq!("uniform".parse::<Method>(), Ok(Method::Uniform));
        assert_eq!("BALANCED".parse::<Method>(), Ok(Method::Balanced));
        for bad in [
            "",
            "alt",
            "alternating:x",
            "alternating:-1",
            "greedy:2",
            "alternating-refit:z",
        ] {
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
            Method::AlternatingRefit { cycles: 2 },
            Method::AlternatingMultiStart { cycles: 1 },
        ] {
            assert_eq!(m.to_string().parse::<Method>(), Ok(m));
            assert!(m.to_string().starts_with(m.name()));
        }
    }
}
