//! Packed [`QuantLstm`].

use burn::nn::LstmState;
use burn_amq_kernels::Par;
use burn_amq_kernels::activation::{sigmoid_in_place, tanh_in_place};

use super::PackOptions;
use super::matrix::PackedMatrix;
use super::{check_batch, check_len, host_values, scratch};
use crate::error::{Error, Result};
use crate::nn::QuantLstm;

/// Number of LSTM gates.
const GATES: usize = 4;

/// Hidden and cell state of a [`PackedLstm`] for `batch` sequences, each `[batch][h]` f32.
#[derive(Debug, Clone, PartialEq)]
pub struct PackedLstmState {
    batch: usize,
    d_hidden: usize,
    hidden: Vec<f32>,
    cell: Vec<f32>,
}

impl PackedLstmState {
    /// The zero state (what the layer starts from without a state).
    pub fn zeros(batch: usize, d_hidden: usize) -> Self {
        Self {
            batch,
            d_hidden,
            hidden: vec![0.0; batch * d_hidden],
            cell: vec![0.0; batch * d_hidden],
        }
    }

    /// A state from host buffers, both `[batch][d_hidden]`.
    ///
    /// Errors: [`Error::ZeroDimension`] for a zero batch or size, [`Error::LengthMismatch`].
    pub fn new(batch: usize, d_hidden: usize, hidden: Vec<f32>, cell: Vec<f32>) -> Result<Self> {
        check_batch(batch)?;
        if d_hidden == 0 {
            return Err(Error::ZeroDimension { what: "d_hidden" });
        }
        check_len("hidden", batch.saturating_mul(d_hidden), hidden.len())?;
        check_len("cell", batch.saturating_mul(d_hidden), cell.len())?;
        Ok(Self {
            batch,
            d_hidden,
            hidden,
            cell,
        })
    }

    /// A state from the layer's tensor state (`hidden` and `cell` `[batch, h]`).
    pub fn from_lstm_state(state: &LstmState<2>) -> Result<Self> {
        let [batch, d_hidden] = state.hidden.dims();
        Self::new(
            batch,
            d_hidden,
            host_values(&state.hidden),
            host_values(&state.cell),
        )
    }

    /// Number of sequences.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Hidden size `h`.
    pub fn d_hidden(&self) -> usize {
        self.d_hidden
    }

    /// Hidden state `h_t`, `[batch][h]`.
    pub fn hidden(&self) -> &[f32] {
        &self.hidden
    }

    /// Cell state `c_t`, `[batch][h]`.
    pub fn cell(&self) -> &[f32] {
        &self.cell
    }
}

/// A [`QuantLstm`] packed for CPU inference, with the layer's gate order (`i, f, g, o` row
/// blocks of the fused matrices) and gate math; `x_t` and `h_{t−1}` are quantized online
/// exactly where the layer quantizes them, and the cell state stays f32.
///
/// Each product runs on popcounts when its input is quantized and on a weights-only product
/// ([`WeightsOnlyProduct`](super::WeightsOnlyProduct)) otherwise
/// (see the [module docs](super)).
#[derive(Debug, Clone)]
pub struct PackedLstm {
    /// `[4h, d_in]`.
    pub(super) input: PackedMatrix,
    /// `[4h, h]`.
    pub(super) recurrent: PackedMatrix,
    /// `[4h]`.
    pub(super) bias: Option<Vec<f32>>,
    d_hidden: usize,
    /// `[batch][4h]` input-product scratch.
    zx: Vec<f32>,
    /// `[batch][4h]` recurrent-product scratch.
    zh: Vec<f32>,
    /// `[batch][d_in]` gathered `x_t` of the sequence API.
    xt: Vec<f32>,
}

impl QuantLstm {
    /// Packs the layer for inference: both fused matrices quantized once with the layer's
    /// weight quantizer, the bias kept in f32.
    ///
    /// Errors: [`Error::NotQuantized`] for full-precision weights, [`Error::Kernel`] when the
    /// weights cannot be quantized (e.g. they hold a NaN).
    pub fn pack(&self) -> Result<PackedLstm> {
        self.pack_with(&PackOptions::default())
    }

    /// [`Self::pack`] with explicit [`PackOptions`] (e.g. the faster lookup-table product
    /// for weights-only matrices).
    pub fn pack_with(&self, options: &PackOptions) -> Result<PackedLstm> {
        let quantizer = self
            .weight_quantizer()
            .ok_or(Error::NotQuantized { layer: "QuantLstm" })?;
        let (h, d_in) = (self.d_hidden, self.d_input());
        let input = PackedMatrix::new(
            &host_values(&self.input_weight.val()),
            GATES * h,
            d_in,
            quantizer,
            self.input_quantizer(),
            options,
        )?;
        let recurrent = PackedMatrix::new(
            &host_values(&self.recurrent_weight.val()),
            GATES * h,
            h,
            quantizer,
            self.hidden_quantizer(),
            options,
        )?;
        let bias = self.bias.as_ref().map(|b| host_values(&b.val()));
        Ok(PackedLstm::from_parts(input, recurrent, bias, h))
    }
}

impl PackedLstm {
    /// Assembles a layer of hidden size `d_hidden` from its matrices (`[4h, d_in]`, `[4h, h]`)
    /// and bias (`[4h]`); the caller has checked those shapes.
    pub(super) fn from_parts(
        input: PackedMatrix,
        recurrent: PackedMatrix,
        bias: Option<Vec<f32>>,
        d_hidden: usize,
    ) -> Self {
        Self {
            input,
            recurrent,
            bias,
            d_hidden,
            zx: Vec::new(),
            zh: Vec::new(),
            xt: Vec::new(),
        }
    }

    /// Input size.
    pub fn d_input(&self) -> usize {
        self.input.n()
    }

    /// Hidden size `h`.
    pub fn d_hidden(&self) -> usize {
        self.d_hidden
    }

    /// Sets how many threads the products may use: [`Par::Auto`] (the default) uses the
    /// kernels' pool above a work threshold, [`Par::Seq`] keeps every call on the calling
    /// thread (e.g. one sequence per thread in a server, or a single-thread benchmark).
    pub fn set_par(&mut self, par: Par) {
        self.input.set_par(par);
        self.recurrent.set_par(par);
    }

    /// One time step for `state.batch()` sequences: `x_t` is `[batch][d_in]`; `state` goes
    /// from `(h_{t−1}, c_{t−1})` to `(h_t, c_t)`. Allocates nothing after the first call with
    /// this (or a larger) batch.
    ///
    /// Errors (the state is left unchanged): [`Error::LengthMismatch`] for a wrong `x_t` length
    /// or a state of another hidden size, [`Error::ZeroDimension`] for an empty batch,
    /// [`Error::Kernel`] for non-finite values.
    pub fn step(&mut self, x_t: &[f32], state: &mut PackedLstmState) -> Result<()> {
        let (batch, h) = (state.batch, self.d_hidden);
        check_batch(batch)?;
        check_len("state d_hidden", h, state.d_hidden)?;
        let rows = GATES * h;
        let zx = scratch(&mut self.zx, batch * rows);
        self.input.matmul(x_t, batch, zx)?;
        let zh = scratch(&mut self.zh, batch * rows);
        self.recurrent.matmul(&state.hidden, batch, zh)?;
        let zh = &self.zh[..batch * rows];
        let z = &mut self.zx[..batch * rows];
        for b in 0..batch {
            // Pre-activations in place of the input product, in the gate order i, f, g, o.
            let (z, zh) = (&mut z[b * rows..][..rows], &zh[b * rows..][..rows]);
            match &self.bias {
                Some(bias) => {
                    for ((v, bias), zh) in z.iter_mut().zip(bias).zip(zh) {
                        *v = *v + bias + zh;
                    }
                }
                None => {
                    for (v, zh) in z.iter_mut().zip(zh) {
                        *v += zh;
                    }
                }
            }
            // Nonlinearities over whole gate blocks: the vectorized kernels.
            sigmoid_in_place(&mut z[..2 * h]);
            tanh_in_place(&mut z[2 * h..3 * h]);
            sigmoid_in_place(&mut z[3 * h..]);
            let (input_forget, candidate_output) = z.split_at_mut(2 * h);
            let (input_gate, forget_gate) = input_forget.split_at_mut(h);
            let (candidate, output_gate) = candidate_output.split_at(h);
            let (hid, cell) = (
                &mut state.hidden[b * h..][..h],
                &mut state.cell[b * h..][..h],
            );
            for j in 0..h {
                cell[j] = forget_gate[j] * cell[j] + input_gate[j] * candidate[j];
            }
            // The input gate is used up: its slots take tanh(c_t).
            let cell_tanh = input_gate;
            cell_tanh.copy_from_slice(cell);
            tanh_in_place(cell_tanh);
            for j in 0..h {
                hid[j] = output_gate[j] * cell_tanh[j];
            }
        }
        Ok(())
    }

    /// Runs `x` (`[batch][seq][d_in]`) from `state` (zeros when `None`); returns all hidden
    /// states `[batch][seq][h]` and the final state, like [`QuantLstm::forward`].
    ///
    /// Errors: [`Error::ZeroDimension`] for `batch == 0`, [`Error::LengthMismatch`] for a
    /// wrong `x` length or a state of another batch or size, [`Error::Kernel`] for non-finite
    /// values.
    pub fn forward(
        &mut self,
        x: &[f32],
        batch: usize,
        seq: usize,
        state: Option<&PackedLstmState>,
    ) -> Result<(Vec<f32>, PackedLstmState)> {
        check_batch(batch)?;
        let (d_in, h) = (self.d_input(), self.d_hidden);
        check_len("x", batch.saturating_mul(seq).saturating_mul(d_in), x.len())?;
        let mut state = match state {
            Some(s) => {
                check_len("state batch", batch, s.batch)?;
                check_len("state d_hidden", h, s.d_hidden)?;
                s.clone()
            }
            None => PackedLstmState::zeros(batch, h),
        };
        let mut outputs = vec![0.0f32; batch * seq * h];
        let mut xt = std::mem::take(&mut self.xt);
        let result = (|| {
            let xt = scratch(&mut xt, batch * d_in);
            for t in 0..seq {
                for b in 0..batch {
                    xt[b * d_in..][..d_in].copy_from_slice(&x[(b * seq + t) * d_in..][..d_in]);
                }
                self.step(xt, &mut state)?;
                for b in 0..batch {
                    outputs[(b * seq + t) * h..][..h].copy_from_slice(&state.hidden[b * h..][..h]);
                }
            }
            Ok(())
        })();
        self.xt = xt;
        result.map(|()| (outputs, state))
    }
}
