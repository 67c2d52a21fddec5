//! Training fixtures: the digits split, parameters as bits.

use nn::data::{digits, Dataset, Standardizer};

/// The digits, split 80/20 with seed 7 and standardised on the training
/// part.
pub fn digits_split() -> (Dataset<f32>, Dataset<f32>) {
    let (train, test) = digits::<f32>().unwrap().split(0.2, 7).unwrap();
    let s = Standardizer::fit_dataset(&train).unwrap();
    (
        s.transform_dataset(train).unwrap(),
        s.transform_dataset(test).unwrap(),
    )
}

/// The parameters' bits, for bitwise comparisons.
pub fn bits(p: &[f32]) -> Vec<u32> {
    p.iter().map(|v| v.to_bits()).collect()
}
