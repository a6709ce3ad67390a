//! Properties of the tensor-op quantizer.

use burn::prelude::*;
use burn::tensor::TensorData;
use burn_amq::{Error, QuantMethod, fake_quantize_rows, fake_quantize_vectors};

use crate::common::{gaussian, gaussian_rows, max_abs_diff, mean_relative_error, values};

const METHODS: [QuantMethod; 6] = [
    QuantMethod::Greedy,
    QuantMethod::Refined,
    QuantMethod::Alternating { cycles: 1 },
    QuantMethod::Alternating { cycles: 2 },
    QuantMethod::AlternatingRefit { cycles: 2 },
    QuantMethod::AlternatingMultiStart { cycles: 2 },
];

#[test]
fn zero_rows_quantize_to_exact_zero() {
    let device = Device::flex();
    let x = Tensor::cat(
        vec![
            Tensor::zeros([1, 16], &device),
            gaussian_rows(1, 16, 1, &device),
        ],
        0,
    );
    for method in METHODS {
        for bits in 1..=4 {
            let q = fake_quantize_rows(x.clone(), bits, method).unwrap();
            let v = values(&q);
            assert!(
                v[..16].iter().all(|&e| e == 0.0),
                "{method:?} k={bits}: {v:?}"
            );
            assert!(v[16..].iter().all(|e| e.is_finite()));
        }
    }
}

#[test]
fn constant_rows_are_reproduced() {
    let device = Device::flex();
    let constants = [-0.3f32, 0.7, 2.5];
    let data: Vec<f32> = constants.iter().flat_map(|&c| [c; 20]).collect();
    let x = Tensor::<2>::from_data(TensorData::new(data, [3, 20]), &device);
    for method in METHODS {
        for bits in 1..=3 {
            let q = values(&fake_quantize_rows(x.clone(), bits, method).unwrap());
            for (r, &c) in constants.iter().enumerate() {
                for &e in &q[r * 20..(r + 1) * 20] {
                    assert!(
                        (e - c).abs() <= 1e-6 * c.abs(),
                        "{method:?} k={bits}: {e} vs {c}"
                    );
                }
            }
        }
    }
}

#[test]
fn one_bit_is_mean_abs_times_sign() {
    let device = Device::flex();
    // Includes an exact zero: sign(0) = +1.
    let row = [0.5f32, -1.5, 0.0, 2.0, -0.25];
    let x = Tensor::<2>::from_data(TensorData::new(row.to_vec(), [1, 5]), &device);
    let alpha = row.iter().map(|v| v.abs()).sum::<f32>() / 5.0;
    let expected: Vec<f32> = row
        .iter()
        .map(|&v| if v >= 0.0 { alpha } else { -alpha })
        .collect();
    for method in METHODS {
        let q = values(&fake_quantize_rows(x.clone(), 1, method).unwrap());
        for (a, b) in q.iter().zip(&expected) {
            assert!((a - b).abs() < 1e-6, "{method:?}: {q:?} vs {expected:?}");
        }
    }
}

#[test]
fn alternating_beats_refined_beats_greedy() {
    let device = Device::flex();
    let x = gaussian_rows(32, 256, 7, &device);
    for bits in [2, 3] {
        let err =
            |method| mean_relative_error(&x, &fake_quantize_rows(x.clone(), bits, method).unwrap());
        let greedy = err(QuantMethod::Greedy);
        let refined = err(QuantMethod::Refined);
        let alternating = err(QuantMethod::default());
        assert!(
            alternating < refined && refined < greedy,
            "k={bits}: alternating {alternating}, refined {refined}, greedy {greedy}"
        );
    }
}

#[test]
fn alternating_two_bit_error_matches_reference() {
    // Reference (paper digest, 50 rows of N(0,1), n = 1024): relative MSE 0.119 at k=2, T=2.
    let device = Device::flex();
    let x = gaussian_rows(50, 1024, 11, &device);
    let q = fake_quantize_rows(x.clone(), 2, QuantMethod::Alternating { cycles: 2 }).unwrap();
    let rel = mean_relative_error(&x, &q);
    assert!((rel - 0.119).abs() < 0.01, "relative error {rel}");
}

#[test]
fn more_bits_reduce_the_error() {
    let device = Device::flex();
    let x = gaussian_rows(8, 128, 3, &device);
    let errors: Vec<f64> = (1..=8)
        .map(|k| {
            mean_relative_error(
                &x,
                &fake_quantize_rows(x.clone(), k, QuantMethod::default()).unwrap(),
            )
        })
        .collect();
    assert!(errors.windows(2).all(|w| w[1] < w[0]), "{errors:?}");
    assert!(errors[7] < 1e-2, "{errors:?}");
}

#[test]
fn rows_are_independent() {
    // Row-wise: quantizing a row alone gives the same values as inside a batch.
    let device = Device::flex();
    let x = gaussian_rows(4, 64, 5, &device);
    let all = fake_quantize_vectors(x.clone(), 3, QuantMethod::default()).unwrap();
    let single = fake_quantize_vectors(x.narrow(0, 2, 1), 3, QuantMethod::default()).unwrap();
    assert!(max_abs_diff(&all.narrow(0, 2, 1), &single) < 1e-6);
}

#[test]
fn quantize_last_dim_matches_rows() {
    let device = Device::flex();
    let x = gaussian([2, 3, 16], 9, &device);
    let quantizer = burn_amq::Quantizer::new(2, QuantMethod::default()).unwrap();
    let q3 = quantizer.quantize_last_dim(x.clone());
    let q2 = quantizer.quantize_rows(x.reshape([6, 16]));
    assert!(max_abs_diff(&q3.reshape([6, 16]), &q2) == 0.0);
}

#[test]
fn invalid_bits_are_rejected() {
    let device = Device::flex();
    let x = gaussian_rows(1, 4, 0, &device);
    for bits in [0, 9] {
        let err = fake_quantize_rows(x.clone(), bits, QuantMethod::Greedy).unwrap_err();
        assert_eq!(err, Error::InvalidBits { what: "bits", bits });
    }
}

#[test]
fn other_float_dtypes_keep_their_dtype() {
    let device = Device::flex();
    let x = gaussian_rows(3, 32, 13, &device);
    let x64 = x.clone().cast(burn::tensor::DType::F64);
    let q64 = fake_quantize_rows(x64, 2, QuantMethod::default()).unwrap();
    assert_eq!(q64.dtype(), burn::tensor::DType::F64);
    let q32 = fake_quantize_rows(x, 2, QuantMethod::default()).unwrap();
    assert!(max_abs_diff(&q64.cast(burn::tensor::DType::F32), &q32) < 1e-6);
}

/// The tensor-op quantizer is backend independent: NdArray agrees with Flex.
#[cfg(feature = "ndarray")]
#[test]
#[allow(deprecated)]
fn ndarray_backend_matches_flex() {
    let flex = Device::flex();
    let ndarray = Device::ndarray();
    let x = gaussian_rows(4, 48, 17, &flex);
    let x_nd = Tensor::<2>::from_data(x.to_data(), &ndarray);
    for method in METHODS {
        let q = fake_quantize_rows(x.clone(), 3, method).unwrap();
        let q_nd = fake_quantize_rows(x_nd.clone(), 3, method).unwrap();
        let q_nd = Tensor::<2>::from_data(q_nd.to_data(), &flex);
        assert!(max_abs_diff(&q, &q_nd) < 1e-5, "{method:?}");
    }
}

/// The tensor-op quantizer (taken by non-f32 tensors, and by every backend but Flex) against
/// the kernels, on the input and tolerance of the NdArray test: that test needs a backend
/// feature, this one runs in every default build.
#[test]
fn tensor_op_path_matches_the_kernels_on_flex() {
    let flex = Device::flex();
    let x = gaussian_rows(4, 48, 17, &flex);
    let x_f64 = x.clone().cast(burn::tensor::DType::F64);
    for method in METHODS {
        let q = fake_quantize_rows(x.clone(), 3, method).unwrap();
        let q_ops = fake_quantize_rows(x_f64.clone(), 3, method)
            .unwrap()
            .cast(burn::tensor::DType::F32);
        assert!(max_abs_diff(&q, &q_ops) < 1e-5, "{method:?}");
    }
}

#[test]
fn methods_convert_to_and_from_kernel_methods() {
    use burn_amq_kernels::quant::Method;
    for method in METHODS {
        let kernel = Method::from(method);
        assert_eq!(kernel.name(), method.name());
        assert_eq!(QuantMethod::try_from(kernel), Ok(method));
    }
    for untrainable in [Method::Uniform, Method::Balanced] {
        assert_eq!(
            QuantMethod::try_from(untrainable),
            Err(Error::UntrainableMethod {
                method: untrainable.name()
            })
        );
    }
}
