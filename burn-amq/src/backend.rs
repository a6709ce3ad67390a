//! The backend extension: Burn ops with a CPU-kernel fast path on Flex.
//!
//! [`AmqBackend`] is declared with Burn's `#[backend_extension]`. Its Flex implementation runs
//! the `burn-amq-kernels` quantizer (AVX-512 where available) on the tensor's buffer. Every
//! other backend (NdArray, wgpu, CUDA, ...) never reaches the extension: the public entry
//! point, [`Quantizer::quantize_rows`](crate::Quantizer::quantize_rows), routes by device and sends them to the tensor-op implementation
//! in [`crate::quantizer`], which computes the same function (same greedy start, same
//! least-squares α, same nearest-code rule and tie rule). This keeps the macro's "backend not
//! supported" panic unreachable, whatever backends the application compiles in.

use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, DispatchDevice, Flex, TensorMetadata, backend_extension};
use burn::prelude::*;
use burn::tensor::DType;
use burn_amq_kernels::quant::quantize_rows as kernel_quantize_rows;
use burn_amq_kernels::{AmqError, BitPlanes, Par};

use crate::quantizer::QuantMethod;

/// Backend operations of burn-amq.
#[backend_extension(Flex)]
pub trait AmqBackend: Backend {
    /// Row-wise fake quantization of a `[rows, n]` f32 tensor: every row replaced by its
    /// dequantized `Σᵢ αᵢ bᵢ` with `bits` planes found by `method`.
    ///
    /// Rows holding a NaN or an infinity come back as NaN (the forward pass cannot fail, and
    /// a NaN loss is how training reports diverged weights).
    fn amq_quantize_rows(
        x: FloatTensor<Self>,
        bits: usize,
        method: QuantMethod,
    ) -> FloatTensor<Self>;
}

/// Quantizes the rows of a row-major `[rows, n]` buffer with the kernels, NaN rows for
/// non-finite input.
pub(crate) fn quantize_buffer(
    values: &[f32],
    rows: usize,
    n: usize,
    bits: usize,
    method: QuantMethod,
) -> Vec<f32> {
    match kernel_quantize_rows(values, rows, n, bits, method.into(), Par::Auto) {
        Ok(q) => dequantize(q.codes()),
        Err(AmqError::NonFinite { .. }) | Err(AmqError::InvalidArgument(_)) => {
            // Quantize the finite rows; a row with a non-finite (or absurdly large) entry
            // has no meaningful codes.
            let mut out = vec![f32::NAN; rows * n];
            for (row, dst) in values.chunks_exact(n).zip(out.chunks_exact_mut(n)) {
                if let Ok(q) = kernel_quantize_rows(row, 1, n, bits, method.into(), Par::Seq) {
                    dst.copy_from_slice(&dequantize(q.codes()));
                }
            }
            out
        }
        // Bits and shapes are validated before the extension is called.
        Err(_) => vec![f32::NAN; rows * n],
    }
}

/// `Σᵢ αᵢ bᵢ` of every row of `codes`, `[rows][n]`.
///
/// The same sums in the same order as `BitPlanes::dequantize` (so bit-identical), about 5×
/// faster: the sign of `αᵢ` is flipped with a bit operation instead of a branch, a word at a
/// time. In a quantization-aware training step the bit-by-bit version took as long as the
/// weight quantization itself.
fn dequantize(codes: &BitPlanes) -> Vec<f32> {
    let (n, bits, words) = (codes.n(), codes.bits(), codes.words());
    let mut out = vec![0.0f32; codes.rows() * n];
    for ((row_out, alphas), planes) in out
        .chunks_exact_mut(n)
        .zip(codes.alphas().chunks_exact(bits))
        .zip(codes.planes().chunks_exact(bits * words))
    {
        for (w, chunk) in row_out.chunks_mut(64).enumerate() {
            for (j, o) in chunk.iter_mut().enumerate() {
                let mut v = 0.0f32;
                for (i, &a) in alphas.iter().enumerate() {
                    // Code bit 1 is +αᵢ, 0 is −αᵢ: set the sign bit when the code bit is 0.
                    let negative = (!(planes[i * words + w] >> j) & 1) as u32;
                    v += f32::from_bits(a.to_bits() ^ (negative << 31));
                }
                *o = v;
            }
        }
    }
    out
}

impl AmqBackend for Flex {
    fn amq_quantize_rows(x: FlexTensor, bits: usize, method: QuantMethod) -> FlexTensor {
        let shape = x.shape();
        let [rows, n] = shape.dims::<2>();
        let x = x.to_contiguous();
        let out = match x.as_slice::<f32>() {
            Some(values) => quantize_buffer(values, rows, n, bits, method),
            // `quantize_rows` only sends contiguous f32 here; keep the type total anyway.
            None => vec![f32::NAN; rows * n],
        };
        FlexTensor::from_data(TensorData::new(out, shape))
    }
}

/// Whether `x` takes the kernel path: an f32 tensor on a Flex device.
pub fn uses_kernels(x: &Tensor<2>) -> bool {
    matches!(x.device().as_dispatch(), DispatchDevice::Flex(_)) && x.dtype() == DType::F32
}

/// Row-wise fake quantization of a non-autodiff `[rows, n]` tensor with `bits` in `1..=8`:
/// the Flex kernel path for f32 tensors on Flex, the tensor-op path everywhere else.
pub(crate) fn quantize_rows(x: Tensor<2>, bits: usize, method: QuantMethod) -> Option<Tensor<2>> {
    if !uses_kernels(&x) {
        return None;
    }
    Some(Tensor::from_dispatch(
        <Dispatch as AmqBackend>::amq_quantize_rows(x.into_dispatch(), bits, method),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quantizer::tensor_ops;
    use burn::tensor::Distribution;
    use burn_amq_kernels::quant::Method;

    fn max_abs_diff(a: &Tensor<2>, b: &Tensor<2>) -> f32 {
        let a = a.to_data().try_to_vec::<f32>().unwrap();
        let b = b.to_data().try_to_vec::<f32>().unwrap();
        a.iter()
            .zip(&b)
            .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()))
    }

    /// The kernel path and the tensor-op path implement one algorithm: on the same input they
    /// must pick the same codes (a flipped code would show up as a difference of about 2·αₖ,
    /// orders of magnitude above the float noise allowed here).
    #[test]
    fn kernel_path_matches_tensor_op_path() {
        let device = Device::flex();
        device.seed(7);
        for &(rows, n) in &[(1usize, 1usize), (3, 63), (17, 65), (8, 300)] {
            let x = Tensor::<2>::random([rows, n], Distribution::Normal(0.0, 1.0), &device);
            for bits in 1..=4 {
                for method in [
                    QuantMethod::Greedy,
                    QuantMethod::Refined,
                    QuantMethod::Alternating { cycles: 2 },
                    QuantMethod::AlternatingRefit { cycles: 2 },
                    QuantMethod::AlternatingMultiStart { cycles: 2 },
                ] {
                    assert!(uses_kernels(&x));
                    let fast = quantize_rows(x.clone(), bits, method).expect("flex path");
                    let slow = tensor_ops::quantize_rows(x.clone(), bits, method);
                    let d = max_abs_diff(&fast, &slow);
                    assert!(d < 1e-4, "{rows}x{n} bits {bits} {method:?}: max diff {d}");
                }
            }
        }
    }

    /// The fast dequantization is the kernels' one, bit for bit.
    #[test]
    fn dequantize_equals_the_kernels_dequantize() {
        for &(rows, n, bits) in &[
            (1usize, 1usize, 1usize),
            (3, 63, 2),
            (5, 65, 3),
            (2, 300, 8),
        ] {
            let values: Vec<f32> = (0..rows * n)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 17.0)
                .collect();
            let q =
                kernel_quantize_rows(&values, rows, n, bits, Method::default(), Par::Seq).unwrap();
            let fast: Vec<u32> = dequantize(q.codes()).iter().map(|v| v.to_bits()).collect();
            let reference: Vec<u32> = q.dequantize().iter().map(|v| v.to_bits()).collect();
            assert_eq!(fast, reference, "{rows}x{n} bits {bits}");
        }
    }

    #[test]
    fn non_finite_rows_become_nan_and_other_rows_are_quantized() {
        let device = Device::flex();
        let x = Tensor::<2>::from_data([[1.0f32, -2.0, 0.5], [f32::NAN, 1.0, 2.0]], &device);
        let q = quantize_rows(x.clone(), 2, QuantMethod::default()).expect("flex path");
        let v = q.to_data().try_to_vec::<f32>().unwrap();
        assert!(v[..3].iter().all(|x| x.is_finite()));
        assert!(v[3..].iter().all(|x| x.is_nan()));
        let first = tensor_ops::quantize_rows(x.slice([0..1, 0..3]), 2, QuantMethod::default());
        let first = first.to_data().try_to_vec::<f32>().unwrap();
        for (a, b) in v[..3].iter().zip(&first) {
            assert!((a - b).abs() < 1e-5);
        }
    }

    #[test]
    fn other_dtypes_take_the_tensor_op_path() {
        let device = Device::flex();
        let x = Tensor::<2>::from_data([[1.0f32, -2.0, 0.5]], &device).cast(DType::F64);
        assert!(!uses_kernels(&x));
        assert!(quantize_rows(x, 2, QuantMethod::default()).is_none());
    }
}
