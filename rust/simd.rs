//! The one choice of vector instructions for every kernel.
//!
//! The kernels are written once, as plain generic Rust that the compiler vectorises
//! (`#[inline(always)]` functions over slices). [`dispatch!`] compiles such a function
//! again inside wrappers that enable wider instruction sets, and calls the widest one this
//! CPU has. The CPU is asked once per process ([`isa`]); every kernel follows the same
//! answer, so a run uses one instruction set throughout.
//!
//! Which instructions the compiler picks never changes a result here: the pyramid is
//! integer and float comparisons, and the synthetic samples use only `+`, `*`, `/` and
//! comparisons (no fused multiply-add is formed without `-C target-feature=+fma`, and the
//! wrappers enable AVX2 and AVX-512, not FMA).

use std::sync::OnceLock;

/// The widest vector instructions of this CPU that the kernels use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// The target's baseline (SSE2 on x86-64).
    Generic,
    /// AVX2.
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// AVX-512 F, DQ and BW (with AVX2).
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

/// The instruction set the kernels use on this CPU, detected on the first call.
pub fn isa() -> Isa {
    static ISA: OnceLock<Isa> = OnceLock::new();
    *ISA.get_or_init(detect)
}

fn detect() -> Isa {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx2")
        {
            return Isa::Avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            return Isa::Avx2;
        }
    }
    Isa::Generic
}

/// Defines a function that runs a generic kernel with the instructions of [`isa`].
///
/// ```text
/// dispatch! {
///     /// Every level, with the widest vector instructions this CPU has.
///     fn levels<T: Sample>(x: &[T], bins: &[usize], outs: &mut [LevelOut<'_, T>])
///         => levels_generic;
/// }
/// ```
///
/// defines `levels`, which calls `levels_generic` compiled for AVX-512, for AVX2, or for
/// the baseline. The kernel should be `#[inline(always)]` (and so should what it calls),
/// so that its body is compiled inside each wrapper with the wrapper's instructions.
macro_rules! dispatch {
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident $(<$($g:ident: $bound:path),+>)?
            ($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? => $kernel:path;
    ) => {
        $(#[$meta])*
        $vis fn $name $(<$($g: $bound),+>)? ($($arg: $ty),*) $(-> $ret)? {
            /// # Safety
            /// The CPU must support AVX-512 F, DQ and BW, and AVX2.
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx512dq,avx512bw,avx2")]
            unsafe fn avx512 $(<$($g: $bound),+>)? ($($arg: $ty),*) $(-> $ret)? {
                $kernel($($arg),*)
            }

            /// # Safety
            /// The CPU must support AVX2.
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2")]
            unsafe fn avx2 $(<$($g: $bound),+>)? ($($arg: $ty),*) $(-> $ret)? {
                $kernel($($arg),*)
            }

            match $crate::simd::isa() {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: isa() returns Avx512 only when the CPU has AVX-512 F, DQ, BW and AVX2.
                $crate::simd::Isa::Avx512 => unsafe { avx512($($arg),*) },
                #[cfg(target_arch = "x86_64")]
                // SAFETY: isa() returns Avx2 only when the CPU has AVX2.
                $crate::simd::Isa::Avx2 => unsafe { avx2($($arg),*) },
                $crate::simd::Isa::Generic => $kernel($($arg),*),
            }
        }
    };
}

pub(crate) use dispatch;

#[cfg(test)]
mod tests {
    use super::*;

    trait Small: Copy + Into<u64> {}
    impl Small for u8 {}
    impl Small for u16 {}

    #[inline(always)]
    fn sum_generic<T: Small>(xs: &[T]) -> u64 {
        xs.iter().map(|&x| x.into()).sum()
    }

    dispatch! {
        /// A generic kernel through the dispatcher.
        fn sum<T: Small>(xs: &[T]) -> u64 => sum_generic;
    }

    #[test]
    fn detection_is_stable_and_dispatch_runs_the_kernel() {
        assert_eq!(isa(), isa());
        assert_eq!(isa(), detect());
        let xs: Vec<u16> = (0..1000).collect();
        assert_eq!(sum(&xs), 999 * 1000 / 2);
        assert_eq!(sum::<u8>(&[]), 0);
    }
}
