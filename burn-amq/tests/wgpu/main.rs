//! QuantLstm / QuantGru / QuantLinear on wgpu against the same layers on Flex.
//!
//! Built only with the `wgpu` feature. Without a GPU, Mesa's lavapipe (`mesa-vulkan-drivers`,
//! a software Vulkan driver) provides the adapter; CI installs it. No adapter at all is a test
//! failure, not a skip: a wgpu test that silently passes would check nothing.
//!
//! Shapes are tiny on purpose: lavapipe JIT-compiles every kernel on first use.

// Shared with the main test binary; not every helper is used here.
#[allow(dead_code)]
#[path = "../amq/common.rs"]
mod common;
mod compare;
mod layers;
mod lstm;

use std::sync::OnceLock;

use burn::prelude::*;

/// The wgpu device of this test process, initialized once (a runtime can be initialized only
/// once per process); panics with a hint when no adapter is available.
pub fn wgpu_device() -> Device {
    static DEVICE: OnceLock<Device> = OnceLock::new();
    DEVICE
        .get_or_init(|| match Device::wgpu_options().init_with_setup() {
            Ok((device, setup)) => {
                let info = setup.adapter.get_info();
                println!(
                    "wgpu adapter: {} ({:?}, {:?})",
                    info.name, info.backend, info.device_type
                );
                device
            }
            Err(err) => panic!(
                "no usable wgpu adapter ({err}); without a GPU install a software Vulkan \
                 driver, e.g. `apt-get install -y mesa-vulkan-drivers` (lavapipe)"
            ),
        })
        .clone()
}
