//! The quantizer written with Burn tensor ops: runs on every backend.
//!
//! Sign planes and residuals stay on the device; only the per-row `k × k` least-squares systems
//! and the per-row code tables (at most `2⁸` entries) travel through the host.

use burn::prelude::*;
use burn::tensor::{DType, Int, TensorData};

use super::QuantMethod;
use super::codebook::code_tables;
use super::least_squares::solve_normal_equations;

/// Sign planes and coefficients of a `[rows, n]` tensor.
struct BinaryCode {
    /// `k` planes `[rows, n]` with entries ±1.
    planes: Vec<Tensor<2>>,
    /// `[rows, k]`: coefficient `i` of each row scales plane `i`.
    alphas: Tensor<2>,
}

impl BinaryCode {
    /// `Σᵢ αᵢ bᵢ` per row.
    fn dequantize(&self) -> Tensor<2> {
        let mut planes = self.planes.iter().enumerate();
        let Some((_, first)) = planes.next() else {
            return self.alphas.zeros_like();
        };
        let alpha = |i: usize| self.alphas.clone().narrow(1, i, 1);
        planes.fold(first.clone() * alpha(0), |acc, (i, plane)| {
            acc + plane.clone() * alpha(i)
        })
    }
}

/// Dequantized row-wise quantization (see the parent module for the conventions).
/// `bits` is in `1..=8` (checked by the caller).
pub(crate) fn quantize_rows(x: Tensor<2>, bits: usize, method: QuantMethod) -> Tensor<2> {
    let [rows, n] = x.dims();
    if rows == 0 || n == 0 {
        return x;
    }
    // Sign planes and host tables are f32; other float dtypes round-trip through f32.
    let dtype = x.dtype();
    let x = if dtype == DType::F32 {
        x
    } else {
        x.cast(DType::F32)
    };
    let q = match method {
        QuantMethod::Greedy => greedy(&x, bits).dequantize(),
        QuantMethod::Refined => refined(&x, bits).dequantize(),
        QuantMethod::Alternating { cycles } => {
            alternating(&x, greedy(&x, bits), cycles, false).dequantize()
        }
        QuantMethod::AlternatingRefit { cycles } => {
            alternating(&x, greedy(&x, bits), cycles, true).dequantize()
        }
        QuantMethod::AlternatingMultiStart { cycles } => best_of_two_starts(&x, bits, cycles),
    };
    if dtype == DType::F32 {
        q
    } else {
        q.cast(dtype)
    }
}

/// ±1 plane of `r` with `sign(0) = +1`.
fn sign_plane(r: Tensor<2>) -> Tensor<2> {
    r.greater_equal_elem(0.0)
        .float()
        .mul_scalar(2.0)
        .sub_scalar(1.0)
}

fn greedy(x: &Tensor<2>, bits: usize) -> BinaryCode {
    let mut residual = x.clone();
    let mut planes = Vec::with_capacity(bits);
    let mut alphas = Vec::with_capacity(bits);
    for _ in 0..bits {
        let plane = sign_plane(residual.clone());
        let alpha = residual.clone().abs().mean_dim(1);
        residual = residual - plane.clone() * alpha.clone();
        planes.push(plane);
        alphas.push(alpha);
    }
    BinaryCode {
        planes,
        alphas: Tensor::cat(alphas, 1),
    }
}

fn refined(x: &Tensor<2>, bits: usize) -> BinaryCode {
    let [rows, _] = x.dims();
    let mut residual = x.clone();
    let mut planes = Vec::with_capacity(bits);
    loop {
        planes.push(sign_plane(residual));
        let alphas = least_squares_alphas(x, &planes);
        let code = BinaryCode {
            alphas: host_to_tensor(alphas, [rows, planes.len()], &x.device()),
            planes: planes.clone(),
        };
        // `bits ≥ 1` (checked by the caller), so this returns after `bits` planes.
        if planes.len() >= bits {
            return code;
        }
        residual = x.clone() - code.dequantize();
    }
}

/// The uniform levels `αᵢ = max|x|·2^{k−i}/(2ᵏ − 1)` of every row and their nearest codes:
/// the second start of [`QuantMethod::AlternatingMultiStart`].
fn uniform_start(x: &Tensor<2>, bits: usize) -> BinaryCode {
    let [rows, _] = x.dims();
    let scales: Vec<f64> = x
        .clone()
        .abs()
        .max_dim(1)
        .into_data()
        .iter::<f64>()
        .collect();
    let levels = ((1u32 << bits) - 1) as f64;
    let alphas: Vec<f64> = scales
        .iter()
        .flat_map(|&s| (0..bits).map(move |i| s * f64::from(1u32 << (bits - 1 - i)) / levels))
        .collect();
    BinaryCode {
        planes: nearest_code_planes(x, &alphas, bits),
        alphas: host_to_tensor(alphas, [rows, bits], &x.device()),
    }
}

/// Alternating from the greedy and from the uniform start; per row, the uniform result
/// where its squared error is strictly lower.
fn best_of_two_starts(x: &Tensor<2>, bits: usize, cycles: usize) -> Tensor<2> {
    let from_greedy = alternating(x, greedy(x, bits), cycles, false).dequantize();
    let from_uniform = alternating(x, uniform_start(x, bits), cycles, false).dequantize();
    let sq_error = |q: &Tensor<2>| (x.clone() - q.clone()).square().sum_dim(1);
    let better = sq_error(&from_uniform).lower(sq_error(&from_greedy));
    from_greedy.mask_where(better.expand(x.dims()), from_uniform)
}

/// `cycles` rounds of (α, B) updates after the start `code`; `final_refit` fits α to the
/// final planes once more.
fn alternating(
    x: &Tensor<2>,
    mut code: BinaryCode,
    cycles: usize,
    final_refit: bool,
) -> BinaryCode {
    let [rows, _] = x.dims();
    let bits = code.planes.len();
    for _ in 0..cycles {
        let mut alphas = least_squares_alphas(x, &code.planes);
        // Least squares may return negative or unordered coefficients. The planes are
        // reassigned right below, so taking |α| sorted descending loses nothing.
        for row in alphas.chunks_exact_mut(bits) {
            row.iter_mut().for_each(|a| *a = a.abs());
            row.sort_by(|a, b| b.total_cmp(a));
        }
        let planes = nearest_code_planes(x, &alphas, bits);
        code = BinaryCode {
            planes,
            alphas: host_to_tensor(alphas, [rows, bits], &x.device()),
        };
    }
    if final_refit {
        // Only the dequantized values leave this module, so signs and order of α need no
        // normalisation here.
        let alphas = least_squares_alphas(x, &code.planes);
        code.alphas = host_to_tensor(alphas, [rows, bits], &x.device());
    }
    code
}

/// Per-row least-squares `α` (`[rows, k]` row-major, f64) for the fixed `planes`.
fn least_squares_alphas(x: &Tensor<2>, planes: &[Tensor<2>]) -> Vec<f64> {
    let k = planes.len();
    let [rows, _] = x.dims();
    let stacked: Tensor<3> = Tensor::stack(planes.to_vec(), 1); // [rows, k, n]
    let gram = stacked.clone().matmul(stacked.clone().swap_dims(1, 2)); // [rows, k, k]
    let rhs = stacked.matmul(x.clone().unsqueeze_dim(2)); // [rows, k, 1]
    let gram: Vec<f64> = gram.into_data().iter::<f64>().collect();
    let rhs: Vec<f64> = rhs.into_data().iter::<f64>().collect();
    (0..rows)
        .flat_map(|r| {
            solve_normal_equations(
                &gram[r * k * k..(r + 1) * k * k],
                &rhs[r * k..(r + 1) * k],
                k,
            )
        })
        .collect()
}

/// Assigns every entry of `x` to its nearest code `Σ ±αᵢ` and returns the `k` planes.
///
/// Binary search over the sorted midpoints: after `k` halving steps `position` is the number of
/// midpoints ≤ x, i.e. the index of the nearest sorted code (ties go up). This is the paper's
/// BST: `k` comparisons per entry.
fn nearest_code_planes(x: &Tensor<2>, alphas: &[f64], bits: usize) -> Vec<Tensor<2>> {
    let [rows, n] = x.dims();
    let device = x.device();
    let codes = 1usize << bits;
    let tables = code_tables(alphas, rows, bits);
    let midpoints = host_to_tensor_f32(tables.midpoints, [rows, codes - 1], &device);
    let mut position: Tensor<2, Int> = Tensor::zeros([rows, n], &device);
    for level in (0..bits).rev() {
        let step = 1i64 << level;
        let probe = midpoints
            .clone()
            .gather(1, position.clone().add_scalar(step - 1));
        let above = x.clone().greater_equal(probe).int();
        position = position + above.mul_scalar(step);
    }
    tables
        .plane_signs
        .into_iter()
        .map(|signs| host_to_tensor_f32(signs, [rows, codes], &device).gather(1, position.clone()))
        .collect()
}

fn host_to_tensor(values: Vec<f64>, shape: [usize; 2], device: &Device) -> Tensor<2> {
    host_to_tensor_f32(
        values.into_iter().map(|v| v as f32).collect(),
        shape,
        device,
    )
}

fn host_to_tensor_f32(values: Vec<f32>, shape: [usize; 2], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows with one large entry: the uniform start gives it a level of its own, so the
    /// two-start method beats the paper's alternating by a wide margin and never loses on
    /// any row.
    #[test]
    fn multistart_fixes_a_large_diagonal_and_never_loses_a_row() {
        let device = Device::flex();
        let (rows, n) = (6usize, 301usize);
        let values: Vec<f32> = (0..rows * n)
            .map(|i| {
                let (r, j) = (i / n, i % n);
                if j == r {
                    -4.5
                } else {
                    ((i * 37 % 101) as f32 - 50.0) / 150.0
                }
            })
            .collect();
        let x = Tensor::<2>::from_data(TensorData::new(values, [rows, n]), &device);
        let row_errors = |method| -> Vec<f32> {
            let q = quantize_rows(x.clone(), 2, method);
            (x.clone() - q)
                .square()
                .sum_dim(1)
                .into_data()
                .iter::<f32>()
                .collect()
        };
        let paper = row_errors(QuantMethod::Alternating { cycles: 2 });
        let multi = row_errors(QuantMethod::AlternatingMultiStart { cycles: 2 });
        let norm: f32 = x.clone().square().sum().into_scalar();
        let (e_paper, e_multi) = (
            paper.iter().sum::<f32>() / norm,
            multi.iter().sum::<f32>() / norm,
        );
        assert!(
            e_paper > 0.3 && e_multi < 0.5 * e_paper,
            "{e_paper} vs {e_multi}"
        );
        for (p, m) in paper.iter().zip(&multi) {
            assert!(m <= p, "{m} > {p}");
        }
    }

    /// The binary search over midpoints finds the nearest code, like an exhaustive search.
    #[test]
    fn nearest_code_assignment_matches_brute_force() {
        let device = Device::flex();
        for bits in 1..=4usize {
            // Two rows with different, deliberately "non-lexicographic" coefficients
            // (α₁ < α₂ + α₃), where the greedy sign rule is not optimal.
            let alphas: Vec<f64> = [[1.0, 0.8, 0.7, 0.1], [2.0, 0.5, 0.25, 0.2]]
                .iter()
                .flat_map(|row| row[..bits].to_vec())
                .collect();
            let n = 41;
            let xs: Vec<f32> = (0..2 * n).map(|i| (i % n) as f32 * 0.17 - 3.4).collect();
            let x = Tensor::<2>::from_data(TensorData::new(xs.clone(), [2, n]), &device);
            let code = BinaryCode {
                planes: nearest_code_planes(&x, &alphas, bits),
                alphas: host_to_tensor(alphas.clone(), [2, bits], &device),
            };
            let q: Vec<f32> = code.dequantize().into_data().iter::<f32>().collect();
            for (j, (&xj, &qj)) in xs.iter().zip(&q).enumerate() {
                let row = &alphas[(j / n) * bits..(j / n + 1) * bits];
                let best = (0..1usize << bits)
                    .map(|p| {
                        let v: f64 = (0..bits)
                            .map(|i| if p >> i & 1 == 1 { row[i] } else { -row[i] })
                            .sum();
                        (f64::from(xj) - v).abs()
                    })
                    .fold(f64::INFINITY, f64::min);
                let got = (f64::from(xj) - f64::from(qj)).abs();
                assert!(got <= best + 1e-6, "k={bits} x={xj}: {got} > {best}");
            }
        }
    }
}
