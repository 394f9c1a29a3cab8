//! A manifest.json edited by hand into nonsense: check, bundle and verify
//! give a clear error naming the file and the field, never a panic.

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonsense_manifests_are_clear_errors_everywhere() {
    let site = Site::new();
    site.write("n.md", "no links\n");
    rotproof(args(&["archive", "n.md"]), site.path())
        .await
        .code(0);
    let path = site.path().join("archive/n/.rotproof/manifest.json");
    let good: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let mut wrong_type = good.clone();
    wrong_type["resources"] = serde_json::json!(5);
    let mut bad_status = good.clone();
    bad_status["resources"] = serde_json::json!([{"url": "https://x.example/", "kind": "image", "occurrences": [], "status": "exploded"}]);
    let mut other_format = good.clone();
    other_format["format"] = serde_json::json!("something-else");
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "truncated",
            "{\"format\": \"rotproof-manif".to_string(),
            "EOF",
        ),
        ("not JSON", "<html>".to_string(), "expected value"),
        ("wrong type", wrong_type.to_string(), "resources"),
        ("bad status", bad_status.to_string(), "exploded"),
        ("other format", other_format.to_string(), "something-else"),
        (
            "missing post",
            "{\"format\":\"rotproof-manifest\",\"version\":1,\"tool\":\"x\",\"resources\":[]}"
                .to_string(),
            "post",
        ),
    ];
    for (what, text, names) in cases {
        std::fs::write(&path, &text).unwrap();
        for command in [
            vec!["check"],
            vec!["verify"],
            vec!["bundle", "archive/n", "-o", "n.zip"],
        ] {
            let out = rotproof(args(&command), site.path()).await;
            let err = stderr(&out);
            out.code_with(1, format!("{what} / {command:?}"));
            assert!(
                err.contains("manifest.json"),
                "{what} / {command:?} names the file: {err}"
            );
            assert!(
                err.contains(names),
                "{what} / {command:?} should mention {names:?}: {err}"
            );
            assert!(!err.contains("panicked"), "{err}");
        }
    }
}
