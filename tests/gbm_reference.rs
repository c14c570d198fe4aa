//! The gradient-boosted trees against scikit-learn's `HistGradientBoostingClassifier` on the
//! same data and parameters (`scripts/gbm_reference.py` wrote the reference file).

use sightline::fraud::gbm::{Gbm, GbmParams};

#[test]
fn predictions_match_scikit_learn_hist_gradient_boosting() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/gbm_reference.csv"
    ))
    .expect("reference file");
    let mut cols: Vec<Vec<f32>> = vec![Vec::new(); 4];
    let mut y = Vec::new();
    let mut expected = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        for (c, col) in cols.iter_mut().enumerate() {
            col.push(f[c].parse().expect("feature"));
        }
        y.push(f[4] == "1");
        expected.push(f[5].parse::<f64>().expect("probability"));
    }
    let columns: Vec<&[f32]> = cols.iter().map(|c| c.as_slice()).collect();
    let rows: Vec<u32> = (0..y.len() as u32).collect();
    let params = GbmParams {
        max_iter: 30,
        learning_rate: 0.1,
        max_leaf_nodes: 8,
        min_samples_leaf: 10,
        l2_regularization: 1.0,
        max_bins: 255,
        ..Default::default()
    };
    let model = Gbm::fit(&columns, &rows, &y, None, &params).expect("fit");
    let ours = model.predict_proba(&columns, &rows);
    let worst = ours
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(
        worst < 1e-6,
        "largest difference from scikit-learn: {worst}"
    );
}
