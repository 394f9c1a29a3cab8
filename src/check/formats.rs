//! A check's report in the forms CI reads: Markdown for a job summary
//! (`$GITHUB_STEP_SUMMARY`, which takes at most 1 MiB), GitHub's workflow
//! commands, which annotate the post's line in a pull request, SARIF 2.1.0
//! (code scanning: each dead URL at its post's lines) and JUnit XML (a
//! test suite per post, a test case per URL).

use super::{CheckReport, Row, Served};
use crate::manifest::Verdict;

/// What a job summary takes at most: GitHub refuses a step summary over
/// 1 MiB. The report stops short of it and says how much it left out.
const SUMMARY_BYTES: usize = 1024 * 1024 - 4096;

/// Annotations GitHub shows of each level per step: the rest are summed
/// up in one notice.
const ANNOTATIONS: usize = 10;

/// What a row says, in a word or two: "dead, lost".
fn label(row: &Row) -> String {
    match row.served {
        Some(served) => format!("{}, {}", row.result.as_str(), served.as_str()),
        None => row.result.as_str().to_string(),
    }
}

/// Why, for a row that is not alive.
fn reason(row: &Row) -> &str {
    row.error
        .as_deref()
        .unwrap_or("content differs from the archived copy")
}

/// Rows worth telling: dead (lost first), changed, recovered, in the
/// report's order.
fn findings(report: &CheckReport) -> impl Iterator<Item = &Row> {
    report.results.iter().filter(|r| r.result != Verdict::Alive)
}

/// The report as Markdown: the counts, then a table of what is dead,
/// changed or recovered, cut before 1 MiB.
pub(crate) fn markdown(report: &CheckReport, summary: &str) -> String {
    let mut out = format!("## rotproof check\n\n{}\n", md_text(summary));
    let rows: Vec<&Row> = findings(report).collect();
    if rows.is_empty() {
        out.push_str("\nNothing dead, changed or recovered.\n");
        return out;
    }
    out.push_str("\n| result | post | URL | why |\n| --- | --- | --- | --- |\n");
    for (shown, row) in rows.iter().enumerate() {
        let at = match row.lines.first() {
            Some(line) => format!("{}:{line}", row.post),
            None => row.post.clone(),
        };
        let line = format!(
            "| {} | `{}` | {} | {} |\n",
            label(row),
            md_code(&at),
            md_text(&row.url),
            md_text(reason(row))
        );
        if out.len() + line.len() > SUMMARY_BYTES {
            out.push_str(&format!(
                "\n… and {} more (the JSON report has them all).\n",
                rows.len() - shown
            ));
            return out;
        }
        out.push_str(&line);
    }
    out
}

/// Text in a Markdown table cell: no pipe, no line break, no markup.
fn md_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '!' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Text inside a code span in a table cell.
fn md_code(s: &str) -> String {
    s.replace('`', "'")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

/// The report as GitHub workflow commands: an `error` on each line of a
/// post where something is lost, a `warning` where something is dead but
/// kept or changed, at most [`ANNOTATIONS`] of each (what GitHub shows),
/// then one `notice` with the counts and what was left out.
pub(crate) fn github(report: &CheckReport, summary: &str) -> String {
    let mut out = String::new();
    let (mut errors, mut warnings, mut left_out) = (0, 0, 0);
    for row in findings(report) {
        let level = match (row.result, row.served) {
            (Verdict::Dead, Some(Served::Lost)) => "error",
            (Verdict::Dead | Verdict::Changed, _) => "warning",
            _ => continue,
        };
        let count = if level == "error" {
            &mut errors
        } else {
            &mut warnings
        };
        if *count >= ANNOTATIONS {
            left_out += 1;
            continue;
        }
        *count += 1;
        let line = row.lines.first().copied().unwrap_or(1);
        out.push_str(&format!(
            "::{level} file={},line={line},title={}::{}\n",
            gh_property(&row.post),
            gh_property(&format!("rotproof: {}", label(row))),
            gh_data(&format!("{} ({})", row.url, reason(row)))
        ));
    }
    let more = if left_out > 0 {
        format!(" ({left_out} more not annotated: see the report)")
    } else {
        String::new()
    };
    out.push_str(&format!(
        "::notice title=rotproof check::{}{more}\n",
        gh_data(summary)
    ));
    out
}

/// A workflow command's message: `%`, CR and LF escaped.
fn gh_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value: its message escapes, and `:`
/// and `,` too.
fn gh_property(s: &str) -> String {
    gh_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// SARIF's rule for a row, and its level: a lost resource is an error,
/// a dead one that is kept or a changed one a warning.
fn rule(row: &Row) -> Option<(&'static str, &'static str)> {
    match (row.result, row.served) {
        (Verdict::Dead, Some(Served::Lost)) => Some(("dead-lost", "error")),
        (Verdict::Dead, _) => Some(("dead-kept", "warning")),
        (Verdict::Changed, _) => Some(("changed", "warning")),
        _ => None,
    }
}

/// The report as a SARIF 2.1.0 log: one result per dead or changed
/// resource, located at every line of its post where it is written
/// (the post's path as a relative URI reference).
pub(crate) fn sarif(report: &CheckReport) -> serde_json::Value {
    let rules = [
        (
            "dead-lost",
            "A dead link or image that nothing serves: no archived copy, no memento.",
        ),
        (
            "dead-kept",
            "A dead link or image whose archived copy or memento still serves the reader.",
        ),
        (
            "changed",
            "A reachable resource whose bytes differ from the archived copy.",
        ),
    ]
    .map(|(id, text)| serde_json::json!({"id": id, "shortDescription": {"text": text}}));
    let results: Vec<serde_json::Value> = findings(report)
        .filter_map(|row| {
            let (id, level) = rule(row)?;
            let uri = uri_reference(&row.post);
            let mut lines = row.lines.clone();
            if lines.is_empty() {
                lines.push(1);
            }
            let locations: Vec<serde_json::Value> = lines
                .iter()
                .map(|line| {
                    serde_json::json!({"physicalLocation": {
                        "artifactLocation": {"uri": uri},
                        "region": {"startLine": line.max(&1)}
                    }})
                })
                .collect();
            Some(serde_json::json!({
                "ruleId": id,
                "level": level,
                "message": {"text": format!("{}: {} ({})", label(row), row.url, reason(row))},
                "locations": locations,
            }))
        })
        .collect();
    serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "rotproof",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }]
    })
}

/// A relative path as a URI reference: each segment percent-encoded,
/// `/` between them whatever the platform.
fn uri_reference(path: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    path.split(['/', '\\'])
        .map(|part| percent_encoding::utf8_percent_encode(part, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// The report as JUnit XML: a test suite per post, a test case per URL
/// checked, failed when it is dead (or changed, as a failure of its own
/// type); what was checked recently and skipped is not a case.
pub(crate) fn junit(report: &CheckReport) -> String {
    // Suites in the order their posts first appear (found by name: a
    // site of thousands of posts is not searched row by row).
    let mut suites: Vec<(&str, Vec<&Row>)> = Vec::new();
    let mut by_post: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for row in &report.results {
        let at = *by_post.entry(&row.post).or_insert_with(|| {
            suites.push((&row.post, Vec::new()));
            suites.len() - 1
        });
        suites[at].1.push(row);
    }
    let failed = |r: &Row| matches!(r.result, Verdict::Dead | Verdict::Changed);
    let total_failed = report.results.iter().filter(|r| failed(r)).count();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"rotproof check\" tests=\"{}\" failures=\"{total_failed}\">\n",
        report.results.len()
    );
    for (post, rows) in suites {
        let failures = rows.iter().filter(|r| failed(r)).count();
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">\n",
            xml(post),
            rows.len()
        ));
        for row in rows {
            let at = match row.lines.first() {
                Some(line) => format!("{post}:{line}"),
                None => post.to_string(),
            };
            out.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\"",
                xml(&at),
                xml(&row.url)
            ));
            if failed(row) {
                out.push_str(&format!(
                    ">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>\n",
                    xml(&label(row)),
                    xml(reason(row)),
                    xml(&format!("{} at {at}: {}", label(row), reason(row)))
                ));
            } else {
                out.push_str("/>\n");
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// Text in XML (an attribute or character data): markup escaped, and
/// control characters (which XML 1.0 cannot hold, or a terminal would
/// obey) left out.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push_str(&format!("&#{};", c as u32)),
            // C0, DEL and C1 controls: not for XML 1.0, nor for a terminal.
            c if c.is_control() || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::VerdictCounts;

    fn row(url: &str, result: Verdict, served: Option<Served>) -> Row {
        Row {
            post: "posts/a, b.md".to_string(),
            line: Some(7),
            lines: vec![7, 9],
            url: url.to_string(),
            result,
            http_status: Some(404),
            error: Some("HTTP 404\nnot found".to_string()),
            dead_since: None,
            served,
            new: true,
        }
    }

    fn report(rows: Vec<Row>) -> CheckReport {
        CheckReport {
            results: rows,
            counts: VerdictCounts::default(),
            fresh: 0,
            requested: 0,
            posts: Vec::new(),
            locked: Vec::new(),
            errors: Vec::new(),
        }
    }

    #[test]
    fn github_annotations_name_the_file_and_line_and_escape_what_they_must() {
        let r = report(vec![
            row("https://x.example/100%", Verdict::Dead, Some(Served::Lost)),
            row("https://x.example/b", Verdict::Dead, Some(Served::Kept)),
            row("https://x.example/c", Verdict::Alive, None),
        ]);
        let out = github(&r, "3 checked");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "::error file=posts/a%2C b.md,line=7,title=rotproof%3A dead%2C lost::https://x.example/100%25 (HTTP 404%0Anot found)"
        );
        assert!(lines[1].starts_with("::warning file=posts/a%2C b.md,line=7,"));
        assert_eq!(lines[2], "::notice title=rotproof check::3 checked");
        assert_eq!(lines.len(), 3, "an alive row is not annotated");
    }

    #[test]
    fn github_shows_ten_of_each_and_counts_the_rest() {
        let rows = (0..25)
            .map(|i| {
                row(
                    &format!("https://x.example/{i}"),
                    Verdict::Dead,
                    Some(Served::Lost),
                )
            })
            .collect();
        let out = github(&report(rows), "25 checked");
        assert_eq!(out.matches("::error ").count(), 10);
        assert!(
            out.contains("(15 more not annotated: see the report)"),
            "{out}"
        );
    }

    #[test]
    fn markdown_stays_under_a_mebibyte_and_escapes_cells() {
        let one = markdown(
            &report(vec![row(
                "https://x.example/a|b",
                Verdict::Dead,
                Some(Served::Lost),
            )]),
            "1 checked",
        );
        assert!(
            one.contains(
                "| dead, lost | `posts/a, b.md:7` | https://x.example/a\\|b | HTTP 404 not found |"
            ),
            "{one}"
        );
        let rows = (0..20_000)
            .map(|i| {
                row(
                    &format!("https://x.example/{i:0>60}"),
                    Verdict::Dead,
                    Some(Served::Lost),
                )
            })
            .collect();
        let big = markdown(&report(rows), "20000 checked");
        assert!(big.len() < 1024 * 1024, "{}", big.len());
        assert!(big.contains("more (the JSON report has them all)"));
    }

    #[test]
    fn sarif_locates_each_dead_url_at_every_line_of_its_post() {
        let r = report(vec![
            row("https://x.example/a", Verdict::Dead, Some(Served::Lost)),
            row("https://x.example/b", Verdict::Alive, None),
        ]);
        let log = sarif(&r);
        assert_eq!(log["version"], "2.1.0");
        let results = log["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), 1);
        assert_eq!(results[0]["ruleId"], "dead-lost");
        assert_eq!(results[0]["level"], "error");
        let at = &results[0]["locations"][1]["physicalLocation"];
        assert_eq!(at["artifactLocation"]["uri"], "posts/a%2C%20b.md");
        assert_eq!(at["region"]["startLine"], 9);
    }

    #[test]
    fn junit_has_a_suite_per_post_and_escapes_what_xml_cannot_hold() {
        let mut other = row("https://x.example/c?a=1&b=<2>", Verdict::Alive, None);
        other.post = "posts/\u{1b}other.md".to_string();
        let r = report(vec![
            row("https://x.example/a", Verdict::Dead, Some(Served::Kept)),
            row("https://x.example/b", Verdict::Alive, None),
            other,
        ]);
        let xml = junit(&r);
        assert!(
            xml.contains("<testsuites name=\"rotproof check\" tests=\"3\" failures=\"1\">"),
            "{xml}"
        );
        assert!(
            xml.contains("<testsuite name=\"posts/a, b.md\" tests=\"2\" failures=\"1\""),
            "{xml}"
        );
        assert!(
            xml.contains("<testsuite name=\"posts/other.md\" tests=\"1\" failures=\"0\""),
            "{xml}"
        );
        assert!(
            xml.contains("name=\"https://x.example/c?a=1&amp;b=&lt;2&gt;\"/>"),
            "{xml}"
        );
        assert!(
            xml.contains("<failure type=\"dead, kept\" message=\"HTTP 404&#10;not found\">"),
            "{xml}"
        );
    }
}
