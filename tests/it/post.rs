//! The post model against fixtures and generated documents: every reference
//! found with its exact span, and rewriting that changes nothing else.

use std::collections::HashMap;

use proptest::prelude::*;
use rotproof::post::{ParseError, Post};
use rotproof::reference::{Kind, Quote, Syntax};
use rotproof::resource::{self, Origin, Resolve, Resource};
use rotproof::rewrite::{self, Edit};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

const FIXTURES: &[&str] = &["repost.md", "tricky.md", "hugo-toml.md"];

fn parse(bytes: &[u8]) -> Post {
    Post::parse(bytes.to_vec()).unwrap_or_else(|e| panic!("parse: {e}"))
}

/// The post's resources (grouping takes the references out of a post: a
/// copy here, so the tests can still look at them).
fn resources(post: &Post) -> Vec<Resource> {
    resource::resources(&mut post.clone(), &Resolve::default())
}

/// Maps every remote resource to `assets/<n>.<ext>`, as archive does:
/// images to `.jpg`, pages to `.html`.
fn local_paths(resources: &[Resource]) -> HashMap<String, String> {
    resources
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r.origin, Origin::Remote(_)))
        .map(|(i, r)| {
            let ext = if r.kind == Kind::Image { "jpg" } else { "html" };
            (r.key().to_string(), format!("assets/{i:064x}.{ext}"))
        })
        .collect()
}

/// Rewrites a post to local paths and checks the three properties of the
/// issue: re-parsing finds the same references, now pointing at the paths;
/// splicing the original raw texts back gives the original bytes.
fn assert_round_trip(original: &[u8]) {
    let post = parse(original);
    let res = resources(&post);
    let map = local_paths(&res);
    let rewritten = rewrite::rewrite(&post, &res, &map);
    let again = parse(rewritten.as_bytes());

    let before = post.references();
    let after = again.references();
    assert_eq!(
        before.len(),
        after.len(),
        "reference count changed:\n{rewritten}"
    );

    let by_span: HashMap<usize, &str> = res
        .iter()
        .flat_map(|r| r.occurrences.iter().map(move |o| (o.span.start, r.key())))
        .collect();
    let mut back = Vec::new();
    for (b, a) in before.iter().zip(after) {
        assert_eq!(b.kind, a.kind);
        let key = by_span.get(&b.span.start).copied();
        match key.and_then(|k| map.get(k)) {
            Some(path) if b.is_rewritable() => {
                assert_eq!(&a.url, path, "rewritten reference reads back as its path");
            }
            _ => assert_eq!(a.url, b.url, "untouched reference stays as it was"),
        }
        back.push(Edit {
            span: a.span.clone(),
            text: b.raw(post.text()).to_string(),
        });
    }
    let restored = rewrite::splice(&rewritten, back);
    assert_eq!(restored.as_bytes(), original, "rewrite then rewrite back");
}

#[test]
fn empty_map_gives_identical_bytes_for_every_fixture() {
    for name in FIXTURES {
        let bytes = fixture(name);
        let post = parse(&bytes);
        let out = rewrite::rewrite(&post, &resources(&post), &HashMap::new());
        assert_eq!(out.as_bytes(), &bytes[..], "{name}");
    }
}

#[test]
fn every_fixture_round_trips() {
    for name in FIXTURES {
        assert_round_trip(&fixture(name));
    }
}

#[test]
fn crlf_and_bom_round_trip() {
    let text = String::from_utf8(fixture("tricky.md")).unwrap();
    let crlf = format!("\u{feff}{}", text.replace('\n', "\r\n"));
    let post = parse(crlf.as_bytes());
    assert_eq!(
        post.references().len(),
        parse(text.as_bytes()).references().len()
    );
    assert_round_trip(crlf.as_bytes());
}

#[test]
fn realistic_repost_groups_into_resources() {
    let post = parse(&fixture("repost.md"));
    let res = resources(&post);
    // 1 thumbnail + 13 distinct body images + 1 source link.
    assert_eq!(res.len(), 15);
    assert_eq!(post.references().len(), 18);
    let thumb = &res[0];
    assert_eq!(thumb.kind, Kind::Image);
    assert_eq!(thumb.occurrences[0].line, 8);
    assert!(thumb.key().ends_with("/641"));
    let repeated: Vec<_> = res.iter().filter(|r| r.occurrences.len() == 4).collect();
    assert_eq!(repeated.len(), 1);
    assert!(repeated[0].key().contains("ORePeAtEdImAgE"));
    let source = res.last().unwrap();
    assert_eq!(source.kind, Kind::Link);
    assert_eq!(source.key(), "https://new.qq.com/rain/a/20261018A01ABC00");
    assert!(res[..14].iter().all(|r| r.kind == Kind::Image));
    assert!(
        !res.iter().any(|r| r.key().contains("OInCo")),
        "code and comments are never scanned"
    );
}

#[test]
fn code_and_comments_never_change() {
    let bytes = fixture("tricky.md");
    let post = parse(&bytes);
    let res = resources(&post);
    let out = rewrite::rewrite(&post, &res, &local_paths(&res));
    for kept in [
        "`![](https://cdn.example/in-code-span)`",
        "```md\n![](https://cdn.example/in-fence)\n```",
        "    ![](https://cdn.example/in-indented-code)",
        "<!--\n![](https://cdn.example/in-comment)\n<img src=\"https://cdn.example/in-comment-html\">\n-->",
        "<https://news.example/autolink>",
        "https://news.example/bare_url_here.",
        "# a comment that must survive",
    ] {
        assert!(out.contains(kept), "{kept:?} changed");
    }
    assert!(!out.contains("https://cdn.example/listed"));
}

/// One row per form: the source, and the text after rewriting every
/// resource to `L` (or to `L L'"&<>` for the escaping rows).
#[test]
fn each_form_rewrites_in_place() {
    let plain = "assets/x.jpg";
    let nasty = "a b's \"q\" &amp; <x>(.jpg";
    // Front matter holds paths without blanks.
    let fm_nasty = "'q'\"r\"/a:b&amp;\\.jpg";
    let rows: &[(&str, &str, &str)] = &[
        ("![a](https://h.example/i)", plain, "![a](assets/x.jpg)"),
        (
            "![a](https://h.example/i \"t\")",
            plain,
            "![a](assets/x.jpg \"t\")",
        ),
        (
            "![a](<https://h.example/i j>)",
            plain,
            "![a](<assets/x.jpg>)",
        ),
        ("![a](https://h.example/a\\_b)", plain, "![a](assets/x.jpg)"),
        ("[a](https://h.example/w_(x))", plain, "[a](assets/x.jpg)"),
        (
            "![a][r]\n\n[r]: https://h.example/i 't'\n",
            plain,
            "![a][r]\n\n[r]: assets/x.jpg 't'\n",
        ),
        (
            "<img src=\"https://h.example/i\" alt=x>",
            plain,
            "<img src=\"assets/x.jpg\" alt=x>",
        ),
        (
            "<img src=https://h.example/i>",
            plain,
            "<img src=assets/x.jpg>",
        ),
        (
            "<img srcset='https://h.example/i 1x'>",
            plain,
            "<img srcset='assets/x.jpg 1x'>",
        ),
        (
            "---\nimage: https://h.example/i\n---\n",
            plain,
            "---\nimage: assets/x.jpg\n---\n",
        ),
        (
            "---\nimage: 'https://h.example/i' # c\n---\n",
            plain,
            "---\nimage: 'assets/x.jpg' # c\n---\n",
        ),
        (
            "+++\nimage = 'https://h.example/i'\n+++\n",
            plain,
            "+++\nimage = 'assets/x.jpg'\n+++\n",
        ),
        (
            "![a](https://h.example/i)",
            nasty,
            "![a](<a b's \"q\" \\&amp; \\<x\\>(.jpg>)",
        ),
        (
            "<img src=\"https://h.example/i\">",
            nasty,
            "<img src=\"a b's &quot;q&quot; &amp;amp; <x>(.jpg\">",
        ),
        (
            "<img src=https://h.example/i>",
            nasty,
            "<img src=\"a b's &quot;q&quot; &amp;amp; <x>(.jpg\">",
        ),
        (
            "---\nimage: https://h.example/i\n---\n",
            fm_nasty,
            "---\nimage: \"'q'\\\"r\\\"/a:b&amp;\\\\.jpg\"\n---\n",
        ),
        (
            "---\nimage: \"https://h.example/i\"\n---\n",
            fm_nasty,
            "---\nimage: \"'q'\\\"r\\\"/a:b&amp;\\\\.jpg\"\n---\n",
        ),
        (
            "---\nimage: 'https://h.example/i'\n---\n",
            fm_nasty,
            "---\nimage: '''q''\"r\"/a:b&amp;\\.jpg'\n---\n",
        ),
        (
            "+++\nimage = 'https://h.example/i'\n+++\n",
            fm_nasty,
            "+++\nimage = \"'q'\\\"r\\\"/a:b&amp;\\\\.jpg\"\n+++\n",
        ),
        ("<https://h.example/i>", plain, "<https://h.example/i>"),
        (
            "see https://h.example/i now",
            plain,
            "see https://h.example/i now",
        ),
    ];
    for (source, value, want) in rows {
        let post = parse(source.as_bytes());
        let res = resources(&post);
        assert_eq!(res.len(), 1, "{source:?}");
        let map = HashMap::from([(res[0].key().to_string(), value.to_string())]);
        let got = rewrite::rewrite(&post, &res, &map);
        assert_eq!(&got, want, "{source:?}");
        // The rewritten post reads back as the value (for rewritable forms).
        let again = parse(got.as_bytes());
        if post.references()[0].is_rewritable() {
            assert_eq!(again.references()[0].url, *value, "{source:?} → {got:?}");
        }
    }
}

#[test]
fn malformed_yaml_reports_line_and_column_in_the_file() {
    let src = "---\ntitle: ok\ncover: \"unclosed\n---\nbody\n";
    match Post::parse(src.as_bytes().to_vec()) {
        Err(ParseError::MalformedFrontMatter {
            format,
            line,
            column,
            ..
        }) => {
            assert_eq!(format, "YAML");
            assert_eq!((line, column), (3, 8));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_toml_reports_line_in_the_file() {
    let src = "+++\ntitle = \"ok\"\ncover = = 1\n+++\n";
    match Post::parse(src.as_bytes().to_vec()) {
        Err(ParseError::MalformedFrontMatter { format, line, .. }) => {
            assert_eq!(format, "TOML");
            assert_eq!(line, 3);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_post_opening_with_a_thematic_break_never_closed_is_markdown_not_refused() {
    for opening in ["---", "+++"] {
        let text = format!(
            "{opening}\nThis post opens with a thematic break and has no front matter.\n\n![x](https://example.com/a.png)\n"
        );
        let post = Post::parse(text.into_bytes()).expect("a valid Markdown post");
        assert!(post.front_matter().is_none(), "{opening}");
        let urls: Vec<_> = post.references().iter().map(|r| r.url.as_str()).collect();
        assert_eq!(urls, ["https://example.com/a.png"], "{opening}");
    }
}

#[test]
fn lines_are_where_the_url_text_stands() {
    let post = parse(b"---\nthumbnail:\n  https://h.example/t\n---\n\n![a](\n  https://h.example/i)\n\n[r]:\n  https://h.example/d\n");
    let lines: Vec<_> = post.references().iter().map(|r| r.line).collect();
    assert_eq!(lines, [3, 7, 10]);
}

// ---- property tests -------------------------------------------------------

/// URL spellings that stress the span finder; each is `(as written in a
/// bare Markdown destination, decoded)`.
/// What a srcset candidate must read back as: blanks, control characters
/// and a comma at either end would split the candidate list, so they are
/// percent-encoded; unquoted, so are the characters that would end the
/// attribute.
fn srcset_candidate(value: &str, quote: Quote) -> String {
    let last = value.chars().count().saturating_sub(1);
    value
        .chars()
        .enumerate()
        .map(|(i, c)| {
            let splits = c.is_whitespace() || c.is_control() || (c == ',' && (i == 0 || i == last));
            let ends = quote == Quote::None && "\"'<>`=".contains(c);
            if splits || ends {
                let mut buf = [0u8; 4];
                c.encode_utf8(&mut buf)
                    .bytes()
                    .map(|b| format!("%{b:02X}"))
                    .collect()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn url_strategy() -> impl Strategy<Value = (String, String)> {
    (0..6u8, 0..4u8).prop_map(|(host, form)| {
        let base = format!("https://cdn{host}.example/p/{host}");
        match form {
            0 => (base.clone(), base),
            1 => (format!("{base}/a\\_b"), format!("{base}/a_b")),
            2 => (format!("{base}?x=1&amp;y=2"), format!("{base}?x=1&y=2")),
            _ => (format!("{base}/图(1)"), format!("{base}/图(1)")),
        }
    })
}

/// A piece of a document, and the raw URL texts it holds that must be found.
fn piece_strategy() -> impl Strategy<Value = (String, Vec<String>)> {
    let text = prop::sample::select(vec![
        "文字",
        "plain text",
        "*em* and `code`",
        "a_b_c",
        "1. item",
    ]);
    (0..13u8, url_strategy(), text).prop_map(|(form, (raw, decoded), text)| {
        let html_raw = decoded.replace('&', "&amp;");
        match form {
            0 => (format!("![{text}]({raw})"), vec![raw]),
            1 => (format!("![]({raw} \"t\")"), vec![raw]),
            2 => (format!("[{text}](<{raw}>)"), vec![raw]),
            // An HTML block runs to the next blank line: give it its own.
            3 => (
                format!("\n\n<img src=\"{html_raw}\" alt=\"{text}\">\n\n"),
                vec![html_raw],
            ),
            4 => (
                format!("{text} <img src='{html_raw}'> {text}"),
                vec![html_raw],
            ),
            5 => (format!("<a href=\"{html_raw}\">{text}</a>"), vec![html_raw]),
            6 => (format!("`![]({raw})`"), vec![]),
            // A line that starts with `<!--` is an HTML block up to `-->`'s line.
            7 => (
                format!("\n\n<!-- ![]({raw}) -->\n\n{text} <!-- ![]({raw}) -->"),
                vec![],
            ),
            8 => (format!("\n```\n![]({raw})\n```\n"), vec![]),
            9 => (format!("\n> ![{text}]({raw})\n"), vec![raw]),
            10 => (format!("\n- [{text}]({raw})\n"), vec![raw]),
            11 => (format!("{text} {text}"), vec![]),
            _ => (
                format!("\n\n<img srcset=\"{html_raw} 1x, {html_raw}/2 2x\">\n\n"),
                vec![html_raw.clone(), format!("{html_raw}/2")],
            ),
        }
    })
}

fn front_matter_strategy() -> impl Strategy<Value = (String, Vec<String>)> {
    (0..4u8, 0..6u8).prop_map(|(form, host)| {
        let url = format!("https://fm{host}.example/t");
        match form {
            0 => (String::new(), vec![]),
            1 => (
                format!("---\ntitle: \"t\"\nthumbnail: {url}\ntags: [a, b]\n---\n"),
                vec![url],
            ),
            2 => (
                format!("---\nimages:\n  - '{url}'\n  - \"{url}/2\"\n---\n"),
                vec![url.clone(), format!("{url}/2")],
            ),
            _ => (
                format!("+++\ncover = \"{url}\"\n[params]\nlogo = '{url}/l'\n+++\n"),
                vec![url.clone(), format!("{url}/l")],
            ),
        }
    })
}

fn document_strategy() -> impl Strategy<Value = (String, Vec<String>)> {
    (
        front_matter_strategy(),
        prop::collection::vec(
            (
                piece_strategy(),
                prop::sample::select(vec![" ", "\n", "\n\n", "\r\n\r\n"]),
            ),
            0..12,
        ),
    )
        .prop_map(|((fm, mut want), pieces)| {
            let mut doc = fm;
            for ((piece, raws), sep) in pieces {
                doc.push_str(&piece);
                doc.push_str(sep);
                want.extend(raws);
            }
            (doc, want)
        })
}

// 256 cases each in CI; `PROPTEST_CASES=20000 cargo test --release --test post`
// for a long hunt.
proptest! {

    /// Every URL placed in a scanned position is found, with its exact raw
    /// text, in order; nothing in code or comments is.
    #[test]
    fn generated_documents_find_exactly_the_placed_urls((doc, want) in document_strategy()) {
        let post = parse(doc.as_bytes());
        let mut got: Vec<String> = post.references().iter().map(|r| r.raw(post.text()).to_string()).collect();
        let mut want = want;
        // Front matter order in TOML tables is by key; compare as multisets.
        got.sort();
        want.sort();
        prop_assert_eq!(got, want, "doc:\n{}", doc);
        prop_assert!(post.references().iter().all(|r| r.syntax != Syntax::Unverified), "doc:\n{}", doc);
    }

    #[test]
    fn generated_documents_round_trip((doc, _) in document_strategy()) {
        let post = parse(doc.as_bytes());
        let identity = rewrite::rewrite(&post, &resources(&post), &HashMap::new());
        prop_assert_eq!(&identity, &doc);
        assert_round_trip(doc.as_bytes());
    }

    /// Any replacement text, escaped for its context, reads back as itself.
    /// (Front matter only holds references that look like paths: no blanks,
    /// a `/`.)
    #[test]
    fn any_replacement_reads_back(
        (doc, _) in document_strategy(),
        // URLs in HTML attributes are stripped of surrounding blanks: none here.
        body_value in "[a-zA-Z0-9._/()&;:'\"<>\\\\#%?=,中-][a-zA-Z0-9 ._/()&;:'\"<>\\\\#%?=,中-]{0,22}[a-zA-Z0-9._/()&;:'\"<>\\\\#%?=,中-]",
        fm_value in "[a-z0-9][a-zA-Z0-9._()&;:'\"<>\\\\#%=,中-]{0,20}/x\\.jpg",
    ) {
        let post = parse(doc.as_bytes());
        let res = resources(&post);
        let in_front_matter = |r: &Resource| r.occurrences.iter().any(|o| o.span.start < post.body().start);
        let map: HashMap<String, String> = res
            .iter()
            .map(|r| (r.key().to_string(), if in_front_matter(r) { fm_value.clone() } else { body_value.clone() }))
            .collect();
        let out = rewrite::rewrite(&post, &res, &map);
        let again = Post::parse(out.clone().into_bytes());
        prop_assert!(again.is_ok(), "rewritten post no longer parses: {:?}\n{}", again.err(), out);
        let again = again.unwrap();
        prop_assert_eq!(again.references().len(), post.references().len(), "out:\n{}", out);
        for (b, a) in post.references().iter().zip(again.references()) {
            if b.is_rewritable() {
                let want = match b.syntax {
                    Syntax::Srcset(quote) => srcset_candidate(&body_value, quote),
                    _ if b.span.start < post.body().start => fm_value.clone(),
                    _ => body_value.clone(),
                };
                prop_assert_eq!(&a.url, &want, "out:\n{}", out);
            }
        }
    }

    /// Any bytes: never a panic, and an accepted post rewritten with an
    /// empty map is unchanged.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(post) = Post::parse(bytes.clone()) {
            let out = rewrite::rewrite(&post, &resources(&post), &HashMap::new());
            prop_assert_eq!(out.as_bytes(), &bytes[..]);
        }
    }

    #[test]
    fn arbitrary_markdownish_text_never_panics(text in "[-!\\[\\]()<>`*_#:/a-z\"' \n&;\\\\]{0,300}") {
        if let Ok(post) = Post::parse(text.clone().into_bytes()) {
            let res = resources(&post);
            let out = rewrite::rewrite(&post, &res, &HashMap::new());
            prop_assert_eq!(&out, &text);
        }
    }
}

#[test]
fn bare_urls_after_cjk_punctuation_are_all_found() {
    let post = parse(
        "对 http://a.example/1.gif、http://b.example/2.gif、http://c.example/3.jsp 进行测试\n\n\
         ：http://a.example/x.png，而另一个则是：http://b.example/y.jpg。\n"
            .as_bytes(),
    );
    let urls: Vec<_> = post.references().iter().map(|r| r.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "http://a.example/1.gif",
            "http://b.example/2.gif",
            "http://c.example/3.jsp",
            "http://a.example/x.png",
            "http://b.example/y.jpg"
        ]
    );
    for r in post.references() {
        assert_eq!(
            r.raw(post.text()),
            r.url,
            "the raw text is the URL as it stands"
        );
        assert_eq!(r.syntax, Syntax::ShownText);
    }
}

#[test]
fn gfm_www_autolinks_are_links_shown_as_text() {
    let post =
        parse(b"Visit www.example.com/page or www.python.org today; example.com is not one.\n");
    let found: Vec<_> = post
        .references()
        .iter()
        .map(|r| {
            (
                r.url.as_str(),
                r.raw(post.text()),
                r.kind,
                r.is_rewritable(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (
                "http://www.example.com/page",
                "www.example.com/page",
                Kind::Link,
                false
            ),
            ("http://www.python.org", "www.python.org", Kind::Link, false)
        ]
    );
}

#[test]
fn urls_in_link_text_and_image_descriptions_are_not_collected() {
    let post = parse(
        b"[http://w](http://www.alidns.com/)\n\n\
          [https://github.com/real/repo](https://link.zhihu.com/?target=x)\n\n\
          ![https://www.mssqltips.com/a.gif](https://img.example.com/b.gif)\n\n\
          ![foo [bar](/url)](/url2)\n",
    );
    let urls: Vec<_> = post.references().iter().map(|r| r.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "http://www.alidns.com/",
            "https://link.zhihu.com/?target=x",
            "https://img.example.com/b.gif",
            "/url2"
        ]
    );
}

#[test]
fn rewriting_keeps_the_blanks_around_an_attribute_url() {
    let post = parse(b"<img src=\"  https://example.com/lead.png  \">\n");
    let res = resources(&post);
    let map = HashMap::from([(res[0].key().to_string(), "assets/x.png".to_string())]);
    assert_eq!(
        rewrite::rewrite(&post, &res, &map),
        "<img src=\"  assets/x.png  \">\n"
    );
}

#[test]
fn the_raw_text_of_a_bare_url_with_an_escape_is_what_stands_in_the_source() {
    let post = parse(b"see https://b.example/x\\_y here\n");
    let r = &post.references()[0];
    assert_eq!(r.url, "https://b.example/x_y");
    assert_eq!(r.raw(post.text()), "https://b.example/x\\_y");
}

#[test]
fn relative_front_matter_values_are_site_paths_not_references() {
    let post = parse(
        b"---\ntitle: Moved page\npermalink: /docs/page.html\nredirect_from: /old/index.html\naliases: [/older/page.html]\nurl: docs/x.html\n---\nBody with ![pic](https://example.com/pic.png).\n",
    );
    let urls: Vec<_> = post.references().iter().map(|r| r.url.as_str()).collect();
    assert_eq!(urls, ["https://example.com/pic.png"]);
    let base = url::Url::parse("https://blog.example/p/").unwrap();
    let resolved = resource::resources(
        &mut post.clone(),
        &Resolve {
            base_url: Some(&base),
            ..Resolve::default()
        },
    );
    assert_eq!(
        resolved.len(),
        1,
        "--base-url does not turn site paths into fetches"
    );
}

#[test]
fn a_relative_image_path_in_front_matter_is_a_local_asset_only_when_the_file_is_there() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("images")).unwrap();
    std::fs::write(dir.path().join("images/cover.png"), b"png").unwrap();
    let post = parse(b"---\ncover: images/cover.png\nbanner: images/missing.png\n---\n");
    let got = resource::resources(
        &mut post.clone(),
        &Resolve {
            post_dir: Some(dir.path()),
            ..Resolve::default()
        },
    );
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(matches!(got[0].origin, Origin::Local { .. }));
}

#[test]
fn a_link_key_under_an_image_key_is_a_link() {
    let post = parse(
        b"---\ngallery:\n  - src: https://example.com/a.jpg\n  - caption: second\n    link: https://example.com/page.html\n---\n",
    );
    let kinds: Vec<_> = post
        .references()
        .iter()
        .map(|r| (r.url.as_str(), r.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("https://example.com/a.jpg", Kind::Image),
            ("https://example.com/page.html", Kind::Link)
        ]
    );
}

#[test]
fn nothing_inside_script_or_style_is_collected() {
    let post = parse(
        b"<script>var s = '<img src=\"https://example.com/in-script.png\">';</script>\n\n\
          <style>.x { background: url(https://example.com/bg.png) }</style>\n\n\
          ![x](https://example.com/ok.png)\n",
    );
    let urls: Vec<_> = post.references().iter().map(|r| r.url.as_str()).collect();
    assert_eq!(urls, ["https://example.com/ok.png"]);
}
