//! Packed [`QuantGru`].

use burn_amq_kernels::Par;
use burn_amq_kernels::activation::{sigmoid_in_place, tanh_in_place};

use super::PackOptions;
use super::matrix::PackedMatrix;
use super::{check_batch, check_len, host_values, scratch};
use crate::error::{Error, Result};
use crate::nn::QuantGru;

/// Number of GRU gates.
const GATES: usize = 3;

/// The recurrent products, by `reset_after`.
#[derive(Debug, Clone)]
pub(super) enum Recurrent {
    /// `reset_after = true`: one `[3h, h]` product on `ĥ_{t−1}`.
    After(PackedMatrix),
    /// `reset_after = false`: `[2h, h]` (update, reset) on `ĥ_{t−1}`, then `[h, h]` (new) on
    /// the quantized `r ⊙ h_{t−1}`.
    Before {
        update_reset: PackedMatrix,
        new: Box<PackedMatrix>,
    },
}

/// A [`QuantGru`] packed for CPU inference, with the layer's gate order (`z, r, n` row
/// blocks), its `reset_after` variant and its separate recurrent new-gate bias; `x_t`,
/// `h_{t−1}` and (with `reset_after = false`) `r ⊙ h_{t−1}` are quantized online where the
/// layer quantizes them.
#[derive(Debug, Clone)]
pub struct PackedGru {
    /// `[3h, d_in]`.
    pub(super) input: PackedMatrix,
    pub(super) recurrent: Recurrent,
    /// `[3h]`.
    pub(super) bias: Option<Vec<f32>>,
    /// `[h]`.
    pub(super) recurrent_new_bias: Option<Vec<f32>>,
    d_hidden: usize,
    zx: Vec<f32>,
    zh: Vec<f32>,
    zn: Vec<f32>,
    reset_hidden: Vec<f32>,
    xt: Vec<f32>,
}

impl QuantGru {
    /// Packs the layer for inference: the fused matrices quantized once with the layer's
    /// weight quantizer (row-wise, so splitting rows afterwards changes no code), biases f32.
    ///
    /// Errors: [`Error::NotQuantized`] for full-precision weights, [`Error::Kernel`] when the
    /// weights cannot be quantized.
    pub fn pack(&self) -> Result<PackedGru> {
        self.pack_with(&PackOptions::default())
    }

    /// [`Self::pack`] with explicit [`PackOptions`] (e.g. the faster lookup-table product
    /// for weights-only matrices).
    pub fn pack_with(&self, options: &PackOptions) -> Result<PackedGru> {
        let quantizer = self
            .weight_quantizer()
            .ok_or(Error::NotQuantized { layer: "QuantGru" })?;
        let (h, d_in) = (self.d_hidden, self.d_input());
        let input = PackedMatrix::new(
            &host_values(&self.input_weight.val()),
            GATES * h,
            d_in,
            quantizer,
            self.input_quantizer(),
            options,
        )?;
        let u = host_values(&self.recurrent_weight.val());
        let hq = self.hidden_quantizer();
        let recurrent = if self.reset_after {
            Recurrent::After(PackedMatrix::new(&u, GATES * h, h, quantizer, hq, options)?)
        } else {
            Recurrent::Before {
                update_reset: PackedMatrix::new(&u[..2 * h * h], 2 * h, h, quantizer, hq, options)?,
                new: Box::new(PackedMatrix::new(
                    &u[2 * h * h..],
                    h,
                    h,
                    quantizer,
                    hq,
                    options,
                )?),
            }
        };
        let bias = self.bias.as_ref().map(|b| host_values(&b.val()));
        let recurrent_new_bias = self
            .recurrent_new_bias
            .as_ref()
            .map(|b| host_values(&b.val()));
        Ok(PackedGru::from_parts(
            input,
            recurrent,
            bias,
            recurrent_new_bias,
            h,
        ))
    }
}

impl PackedGru {
    /// Assembles a layer of hidden size `d_hidden` from its matrices (`[3h, d_in]`, recurrent
    /// as in [`Recurrent`]) and biases (`[3h]`, `[h]`); the caller has checked those shapes.
    pub(super) fn from_parts(
        input: PackedMatrix,
        recurrent: Recurrent,
        bias: Option<Vec<f32>>,
        recurrent_new_bias: Option<Vec<f32>>,
        d_hidden: usize,
    ) -> Self {
        Self {
            input,
            recurrent,
            bias,
            recurrent_new_bias,
            d_hidden,
            zx: Vec::new(),
            zh: Vec::new(),
            zn: Vec::new(),
            reset_hidden: Vec::new(),
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
        match &mut self.recurrent {
            Recurrent::After(u) => u.set_par(par),
            Recurrent::Before { update_reset, new } => {
                update_reset.set_par(par);
                new.set_par(par);
            }
        }
    }

    /// One time step: `x_t` `[batch][d_in]`, `hidden` `h_{t−1}` → `h_t` (`[batch][h]`, in
    /// place). Allocates nothing after the first call with this (or a larger) batch.
    ///
    /// Errors (`hidden` is left unchanged): [`Error::ZeroDimension`] for `batch == 0`,
    /// [`Error::LengthMismatch`] for wrong lengths, [`Error::Kernel`] for non-finite values.
    pub fn step(&mut self, x_t: &[f32], batch: usize, hidden: &mut [f32]) -> Result<()> {
        check_batch(batch)?;
        let h = self.d_hidden;
        check_len("hidden", batch.saturating_mul(h), hidden.len())?;
        let rows = GATES * h;
        let zx = scratch(&mut self.zx, batch * rows);
        self.input.matmul(x_t, batch, zx)?;
        if let Some(bias) = &self.bias {
            for row in zx.chunks_exact_mut(rows) {
                for (v, b) in row.iter_mut().zip(bias) {
                    *v += b;
                }
            }
        }
        match &mut self.recurrent {
            Recurrent::After(u) => {
                let zh = scratch(&mut self.zh, batch * rows);
                u.matmul(hidden, batch, zh)?;
                for b in 0..batch {
                    // Gate order: update, reset, new.
                    let (z, zh) = (&mut zx[b * rows..][..rows], &zh[b * rows..][..rows]);
                    let hid = &mut hidden[b * h..][..h];
                    for (v, zh) in z[..2 * h].iter_mut().zip(&zh[..2 * h]) {
                        *v += zh;
                    }
                    sigmoid_in_place(&mut z[..2 * h]);
                    let (update_reset, new) = z.split_at_mut(2 * h);
                    let (update, reset) = update_reset.split_at(h);
                    let zh_new = &zh[2 * h..];
                    match &self.recurrent_new_bias {
                        Some(nb) => {
                            for j in 0..h {
                                new[j] += reset[j] * (zh_new[j] + nb[j]);
                            }
                        }
                        None => {
                            for j in 0..h {
                                new[j] += reset[j] * zh_new[j];
                            }
                        }
                    }
                    tanh_in_place(new);
                    for j in 0..h {
                        hid[j] = new[j] * (1.0 - update[j]) + update[j] * hid[j];
                    }
                }
            }
            Recurrent::Before { update_reset, new } => {
                let zh = scratch(&mut self.zh, batch * 2 * h);
                update_reset.matmul(hidden, batch, zh)?;
                let rh = scratch(&mut self.reset_hidden, batch * h);
                for b in 0..batch {
                    let (z, zh) = (&mut zx[b * rows..][..rows], &zh[b * 2 * h..][..2 * h]);
                    for (v, zh) in z[..2 * h].iter_mut().zip(zh) {
                        *v += zh;
                    }
                    sigmoid_in_place(&mut z[..2 * h]);
                    let reset = &z[h..2 * h];
                    for j in 0..h {
                        rh[b * h + j] = reset[j] * hidden[b * h + j];
                    }
                }
                let zn = scratch(&mut self.zn, batch * h);
                new.matmul(rh, batch, zn)?;
                for b in 0..batch {
                    let z = &mut zx[b * rows..][..rows];
                    let (update_reset, candidate) = z.split_at_mut(2 * h);
                    for (v, zn) in candidate.iter_mut().zip(&zn[b * h..][..h]) {
                        *v += zn;
                    }
                    tanh_in_place(candidate);
                    let update = &update_reset[..h];
                    let hid = &mut hidden[b * h..][..h];
                    for j in 0..h {
                        hid[j] = candidate[j] * (1.0 - update[j]) + update[j] * hid[j];
                    }
                }
            }
        }
        Ok(())
    }

    /// Runs `x` (`[batch][seq][d_in]`) from `state` (`[batch][h]`, zeros when `None`) and
    /// returns all hidden states `[batch][seq][h]`, like [`QuantGru::forward`].
    ///
    /// Errors as [`step`](Self::step).
    pub fn forward(
        &mut self,
        x: &[f32],
        batch: usize,
        seq: usize,
        state: Option<&[f32]>,
    ) -> Result<Vec<f32>> {
        check_batch(batch)?;
        let (d_in, h) = (self.d_input(), self.d_hidden);
        check_len("x", batch.saturating_mul(seq).saturating_mul(d_in), x.len())?;
        let mut hidden = match state {
            Some(s) => {
                check_len("state", batch.saturating_mul(h), s.len())?;
                s.to_vec()
            }
            None => vec![0.0; batch * h],
        };
        let mut outputs = vec![0.0f32; batch * seq * h];
        let mut xt = std::mem::take(&mut self.xt);
        let result = (|| {
            let xt = scratch(&mut xt, batch * d_in);
            for t in 0..seq {
                for b in 0..batch {
                    xt[b * d_in..][..d_in].copy_from_slice(&x[(b * seq + t) * d_in..][..d_in]);
                }
                self.step(xt, batch, &mut hidden)?;
                for b in 0..batch {
                    outputs[(b * seq + t) * h..][..h].copy_from_slice(&hidden[b * h..][..h]);
                }
            }
            Ok(())
        })();
        self.xt = xt;
        result.map(|()| outputs)
    }
}
