//! The feature scaler in a checkpoint: the [`Standardizer`] the network's
//! inputs go through, as two 1-D tensors of the input width that PyTorch
//! reads as it reads the parameters.

use super::read::decode_values;
use super::write::encode_values;
use super::StoredDtype;
use crate::data::Standardizer;
use autodiff::Float;
use std::collections::BTreeMap;

/// The tensor of the per-feature means.
pub(super) const MEAN: &str = "scaler.mean";
/// The tensor of the per-feature standard deviations.
pub(super) const STD: &str = "scaler.std";

/// A tensor to write: name, shape and little-endian bytes.
pub(super) type Tensor = (String, Vec<usize>, Vec<u8>);

/// The tensors of a file being read: dtype, shape and raw bytes by name.
pub(super) type Tensors<'b> = BTreeMap<String, (StoredDtype, Vec<usize>, &'b [u8])>;

/// The two tensors of `scaler` for a network of input width `width`; an
/// error if it has another number of features or is not a valid scaler
/// ([`Standardizer::validate`]).
pub(super) fn encode<T: Float>(
    scaler: &Standardizer<T>,
    width: usize,
) -> std::result::Result<[Tensor; 2], String> {
    if scaler.mean.len() != width {
        return Err(format!(
            "the feature scaler has {} features but the network's input width is {width}",
            scaler.mean.len()
        ));
    }
    scaler
        .validate()
        .map_err(|e| format!("the feature scaler cannot be stored: {e}"))?;
    Ok([
        (MEAN.into(), vec![width], encode_values(&scaler.mean)),
        (STD.into(), vec![width], encode_values(&scaler.std)),
    ])
}

/// The scaler among `tensors` (stored as `dtype`) for a network of input
/// width `width`; `None` when the file holds neither of its tensors.
pub(super) fn decode<T: Float>(
    tensors: &Tensors<'_>,
    dtype: StoredDtype,
    width: usize,
) -> std::result::Result<Option<Standardizer<T>>, String> {
    let read = |name: &str| -> std::result::Result<Option<Vec<T>>, String> {
        let Some((_, shape, raw)) = tensors.get(name) else {
            return Ok(None);
        };
        if *shape != [width] {
            return Err(format!(
                "tensor {name} has shape {shape:?} in the file but the model's input width \
                 implies [{width}]"
            ));
        }
        decode_values(name, dtype, raw).map(Some)
    };
    match (read(MEAN)?, read(STD)?) {
        (None, None) => Ok(None),
        (Some(mean), Some(std)) => Standardizer::new(mean, std)
            .map(Some)
            .map_err(|e| format!("tensors {MEAN} and {STD} are not a feature scaler: {e}")),
        (Some(_), None) | (None, Some(_)) => Err(format!(
            "a feature scaler is stored as both tensors {MEAN} and {STD}; the file has only {}",
            if tensors.contains_key(MEAN) {
                MEAN
            } else {
                STD
            }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensors(encoded: &[Tensor], dtype: StoredDtype) -> Tensors<'_> {
        encoded
            .iter()
            .map(|(n, s, b)| (n.clone(), (dtype, s.clone(), b.as_slice())))
            .collect()
    }

    #[test]
    fn a_scaler_round_trips_bitwise_with_its_zero_and_negative_zero() {
        let s = Standardizer::new(vec![0.1_f32, -0.0, 16.0], vec![1e-30, 0.0, 3.5]).unwrap();
        let encoded = encode(&s, 3).unwrap();
        let back = decode::<f32>(&tensors(&encoded, StoredDtype::F32), StoredDtype::F32, 3)
            .unwrap()
            .unwrap();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back.mean), bits(&s.mean));
        assert_eq!(bits(&back.std), bits(&s.std));
    }

    #[test]
    fn a_scaler_of_another_width_or_a_negative_std_is_refused_both_ways() {
        let s = Standardizer::new(vec![0.0_f64; 2], vec![1.0; 2]).unwrap();
        assert_eq!(
            encode(&s, 3).unwrap_err(),
            "the feature scaler has 2 features but the network's input width is 3"
        );
        let encoded = encode(&s, 2).unwrap();
        let t = tensors(&encoded, StoredDtype::F64);
        assert_eq!(
            decode::<f64>(&t, StoredDtype::F64, 3).unwrap_err(),
            "tensor scaler.mean has shape [2] in the file but the model's input width implies [3]"
        );
        let bad = Standardizer {
            mean: vec![0.0_f64],
            std: vec![-1.0],
        };
        assert!(encode(&bad, 1)
            .unwrap_err()
            .starts_with("the feature scaler cannot be stored"));
        let negative = [
            (MEAN.to_string(), vec![1], encode_values(&[0.0_f64])),
            (STD.to_string(), vec![1], encode_values(&[-1.0_f64])),
        ];
        let e =
            decode::<f64>(&tensors(&negative, StoredDtype::F64), StoredDtype::F64, 1).unwrap_err();
        assert!(
            e.starts_with("tensors scaler.mean and scaler.std are not a feature scaler"),
            "{e}"
        );
        assert_eq!(
            decode::<f64>(&tensors(&negative[1..], StoredDtype::F64), StoredDtype::F64, 1)
                .unwrap_err(),
            "a feature scaler is stored as both tensors scaler.mean and scaler.std; the file has only scaler.std"
        );
    }
}
