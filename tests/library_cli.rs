//! The library's command line, run as the real binary: `assets import`, `assets list`,
//! `enhance` over files and over a workspace, bad inputs and unusable output folders.

mod common;

use std::path::Path;
use std::process::{Command, Output};

/// Runs the binary; `--workspace W` goes after the subcommand(s) in `args`.
fn sightline(args: &[&str], workspace: Option<&Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sightline"));
    let split = if args.first() == Some(&"assets") {
        2
    } else {
        1
    };
    cmd.args(&args[..split.min(args.len())]);
    if let Some(w) = workspace {
        cmd.arg("--workspace").arg(w);
    }
    cmd.args(&args[split.min(args.len())..])
        .env_remove("SIGHTLINE_WORKSPACE")
        .output()
        .expect("run sightline")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A 30000×30000 PNG header with almost no data: a decompression bomb.
fn bomb_png() -> Vec<u8> {
    let mut bytes = common::product_png(4, 4, 1);
    bytes[16..20].copy_from_slice(&30_000u32.to_be_bytes());
    bytes[20..24].copy_from_slice(&30_000u32.to_be_bytes());
    let mut crc = 0xFFFF_FFFFu32;
    for &b in &bytes[12..29] {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    bytes[29..33].copy_from_slice(&(!crc).to_be_bytes());
    bytes
}

#[test]
fn assets_import_reports_bad_files_detects_duplicates_and_lists() {
    let dir = tempfile::tempdir().expect("tempdir");
    let photos = dir.path().join("photos");
    std::fs::create_dir_all(photos.join("more")).expect("mkdir");
    std::fs::write(
        photos.join("SL-MUG-001.png"),
        common::product_png(120, 90, 1),
    )
    .expect("w");
    std::fs::write(photos.join("more/bag.png"), common::product_png(90, 120, 2)).expect("w");
    let mut cut = common::product_png(200, 200, 3);
    cut.truncate(cut.len() / 3);
    std::fs::write(photos.join("truncated.png"), cut).expect("w");
    std::fs::write(photos.join("zero.jpg"), b"").expect("w");
    std::fs::write(photos.join("bomb.png"), bomb_png()).expect("w");
    let csv = dir.path().join("products.csv");
    std::fs::write(
        &csv,
        "sku,name,price,category,colour,image\n\
         SL-MUG-001,Porcelain Mug,12.90,Mugs,White,\n\
         SL-BAG-001,Canvas Tote,34.90,Bags,Natural,bag.png\n",
    )
    .expect("csv");
    let ws = dir.path().join("shop.sqlite");

    let out = sightline(
        &[
            "assets",
            "import",
            "--metadata",
            csv.to_str().expect("utf8"),
            "--tag",
            "spring",
            photos.to_str().expect("utf8"),
        ],
        Some(&ws),
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("2 imported, 0 duplicates, 3 failed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("truncated.png") && stdout.contains("corrupt or truncated"),
        "{stdout}"
    );
    assert!(
        stdout.contains("zero.jpg") && stdout.contains("empty"),
        "{stdout}"
    );
    assert!(
        stdout.contains("bomb.png") && stdout.contains("decompression bomb"),
        "{stdout}"
    );
    assert!(stdout.contains("metadata set on 2 asset(s)"), "{stdout}");

    // The same folder again: everything good is a duplicate.
    let out = sightline(
        &["assets", "import", photos.to_str().expect("utf8")],
        Some(&ws),
    );
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains("0 imported, 2 duplicates, 3 failed"),
        "{stdout}"
    );

    let out = sightline(&["assets", "list", "--json"], Some(&ws));
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let rows: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let rows = rows.as_array().expect("array");
    assert_eq!(rows.len(), 2);
    let bag = rows
        .iter()
        .find(|r| r["sku"] == "SL-BAG-001")
        .expect("bag by image column");
    assert_eq!(bag["name"], "Canvas Tote");
    assert_eq!(bag["tags"], "spring");
    assert!(
        rows.iter()
            .any(|r| r["sku"] == "SL-MUG-001" && r["price"] == 12.9)
    );

    let out = sightline(&["assets", "list", "--filter", "tote"], Some(&ws));
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains("SL-BAG-001") && !stdout.contains("SL-MUG-001"),
        "{stdout}"
    );
}

#[test]
fn assets_import_exits_1_when_every_file_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.webp");
    std::fs::write(&bad, b"RIFF\x00\x00\x00\x00WEBPnope").expect("w");
    let out = sightline(
        &["assets", "import", bad.to_str().expect("utf8")],
        Some(&dir.path().join("w.sqlite")),
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("every file failed"), "{stderr}");
    assert!(stdout.contains("bad.webp"), "{stdout}");
}

#[test]
fn enhance_writes_outputs_lists_failures_and_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inputs = dir.path().join("in");
    std::fs::create_dir_all(&inputs).expect("mkdir");
    for i in 0..3 {
        std::fs::write(
            inputs.join(format!("p{i}.png")),
            common::product_png(96, 80, i),
        )
        .expect("w");
    }
    std::fs::write(inputs.join("broken.jpg"), b"\xff\xd8\xff\xe0garbage").expect("w");
    let out_dir = dir.path().join("out");
    // A folder where p1's output would go: that one write fails, the rest go on.
    std::fs::create_dir_all(out_dir.join("p1.jpg")).expect("blocker");
    let out = sightline(
        &[
            "enhance",
            "--recipe",
            "clean",
            "--jobs",
            "2",
            "--format",
            "jpeg",
            "--quality",
            "85",
            "--out",
            out_dir.to_str().expect("utf8"),
            inputs.to_str().expect("utf8"),
        ],
        None,
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("2 of 4 done, 2 failed"), "{stdout}");
    assert!(stdout.contains("broken.jpg"), "{stdout}");
    assert!(
        stdout.contains("p1.jpg") && stdout.contains("could not write"),
        "{stdout}"
    );
    assert!(
        stderr.contains("[100%] 4/4"),
        "progress is reported: {stderr}"
    );
    for name in ["p0.jpg", "p2.jpg"] {
        let bytes = std::fs::read(out_dir.join(name)).expect("output");
        assert_eq!(&bytes[..2], b"\xff\xd8", "{name} is a JPEG");
    }
    let leftovers: Vec<_> = std::fs::read_dir(&out_dir)
        .expect("ls")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp") || n.starts_with(".sightline-probe"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn enhance_refuses_an_output_folder_that_cannot_exist() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("a.png");
    std::fs::write(&input, common::product_png(64, 64, 1)).expect("w");
    // Tests may run as root, where permission bits do not stop writes: a folder below a
    // regular file cannot be created by anyone.
    let file = dir.path().join("not-a-folder");
    std::fs::write(&file, b"x").expect("w");
    let out_dir = file.join("out");
    let out = sightline(
        &[
            "enhance",
            "--recipe",
            "restore-2x",
            "--out",
            out_dir.to_str().expect("utf8"),
            input.to_str().expect("utf8"),
        ],
        None,
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("output folder") && stderr.contains("cannot be created"),
        "{stderr}"
    );
    assert!(stderr.contains("not-a-folder/out"), "{stderr}");
}

#[test]
fn enhance_all_names_outputs_after_skus_and_takes_recipe_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ws = common::library_workspace(dir.path(), 3, 72);
    let recipe = dir.path().join("mine.json");
    let mut r = sightline::imaging::Preset::MarketplaceSquare.recipe();
    r.name = "small-square".into();
    r.frame = Some(sightline::imaging::ops::frame::Frame {
        width_px: 300,
        height_px: 300,
        ..sightline::imaging::ops::frame::Frame::square_2000()
    });
    r.save(&recipe).expect("save recipe");
    let out_dir = dir.path().join("renders");
    let out = sightline(
        &[
            "enhance",
            "--all",
            "--recipe",
            recipe.to_str().expect("utf8"),
            "--format",
            "webp",
            "--out",
            out_dir.to_str().expect("utf8"),
        ],
        Some(&ws),
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("3 of 3 done, 0 failed"), "{stdout}");
    for i in 0..3 {
        let path = out_dir.join(format!("SL-TST-{i:03}.webp"));
        let img = image::open(&path).expect("webp output");
        assert_eq!((img.width(), img.height()), (300, 300));
    }

    let out = sightline(
        &["enhance", "--recipe", "no-such", "--out", "x", "y.png"],
        Some(&ws),
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("no preset or saved recipe named \"no-such\""),
        "{stderr}"
    );
    assert!(stderr.contains("marketplace-square"), "{stderr}");
}

#[test]
fn gui_refuses_an_unknown_page_recipe_before_opening_a_window() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("w.sqlite");
    let out = Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(["--workspace"])
        .arg(&ws)
        .args([
            "--open-asset",
            "SL-ACC-001",
            "--page-recipe",
            "catalog-clean",
        ])
        .env_remove("SIGHTLINE_WORKSPACE")
        // No display: if the name were accepted, the window would fail instead.
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("run sightline");
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no preset or saved recipe named \"catalog-clean\""),
        "{stderr}"
    );
    assert!(!ws.exists(), "nothing is created for a refused launch");
}
