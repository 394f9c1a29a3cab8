//! SVG images made safe to serve from the blog's own origin.
//!
//! An SVG is a document, not only a picture: opened directly (a click on
//! `[![logo](x.svg)](x.svg)`, or any link to the published file) it runs
//! its scripts and event handlers with the site's origin, and it can fetch
//! from anywhere (`<image href>`, `url()` in styles, `<?xml-stylesheet?>`).
//! What rotproof publishes in `assets/` therefore keeps only drawing: an
//! allowlist of SVG elements (and editors' inert markup in their own
//! vocabularies, never XHTML or MathML), no attribute named `on…`, no reference that
//! leaves the document (`href` only to `#fragment` or an inline raster
//! image; `url()` only to `#fragment`), no processing instructions, no
//! DOCTYPE with an internal subset (its entities could expand to markup;
//! plain text entities are expanded here instead). The bytes as fetched
//! are kept apart, unpublished, for fixity.
//!
//! Names are compared without regard to ASCII case, and kept as written
//! (SVG is case-sensitive: `foreignObject`, `viewBox`). The input streams
//! through: memory holds one event at a time (a `<style>` element whole).

use std::collections::HashMap;
use std::io::{BufRead, Write};

use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::{NsReader, Writer};

const SVG_NS: &str = "http://www.w3.org/2000/svg";

/// What is served when the file cannot be read as XML: an empty picture
/// (a browser would show nothing, or worse, part of the file).
pub(crate) const EMPTY: &[u8] = b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>\n";

/// SVG elements that only draw (after DOMPurify's list): no `script`,
/// `foreignObject`, `iframe`; no `set` or `animate`, which can turn an
/// `href` into `javascript:` after the fact.
const ELEMENTS: &[&str] = &[
    "a",
    "altglyph",
    "altglyphdef",
    "altglyphitem",
    "animatemotion",
    "animatetransform",
    "circle",
    "clippath",
    "defs",
    "desc",
    "ellipse",
    "feblend",
    "fecolormatrix",
    "fecomponenttransfer",
    "fecomposite",
    "feconvolvematrix",
    "fediffuselighting",
    "fedisplacementmap",
    "fedistantlight",
    "fedropshadow",
    "feflood",
    "fefunca",
    "fefuncb",
    "fefuncg",
    "fefuncr",
    "fegaussianblur",
    "feimage",
    "femerge",
    "femergenode",
    "femorphology",
    "feoffset",
    "fepointlight",
    "fespecularlighting",
    "fespotlight",
    "fetile",
    "feturbulence",
    "filter",
    "font",
    "g",
    "glyph",
    "glyphref",
    "hkern",
    "image",
    "line",
    "lineargradient",
    "marker",
    "mask",
    "metadata",
    "mpath",
    "path",
    "pattern",
    "polygon",
    "polyline",
    "radialgradient",
    "rect",
    "stop",
    "style",
    "svg",
    "switch",
    "symbol",
    "text",
    "textpath",
    "title",
    "tref",
    "tspan",
    "use",
    "view",
    "vkern",
];

/// Namespaces whose elements run or fetch when they stand in an SVG
/// document, wherever they stand (even inside `<metadata>`).
const ACTIVE_NAMESPACES: &[&str] = &[
    "http://www.w3.org/1999/xhtml",
    "http://www.w3.org/1998/Math/MathML",
];

/// What became of an SVG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Sanitised {
    /// Nothing to remove: the bytes as fetched are served as they are
    /// (what was written to the output is to be discarded).
    Clean,
    /// The output is the copy to serve; this many elements, attributes,
    /// instructions or declarations were removed.
    Cleaned { removed: usize },
    /// Not well-formed UTF-8 XML: serve [`EMPTY`] (the output is to be
    /// discarded).
    Unreadable(String),
}

/// Copies `input` to `out` without anything that could run or fetch.
/// Errors are `out`'s; the input's problems are [`Sanitised::Unreadable`].
/// `limit` bounds the text read again after a DOCTYPE's entities are
/// expanded.
pub(crate) fn sanitise(
    input: impl BufRead,
    out: impl Write,
    limit: u64,
) -> std::io::Result<Sanitised> {
    let mut run = Run {
        reader: NsReader::from_reader(input),
        writer: Writer::new(out),
        removed: 0,
    };
    let mut outcome = run.copy();
    if let Err(Stop::Expand(entities)) = outcome {
        // The rest of the file, its entities expanded, read as if it had
        // never had a DOCTYPE (the DOCTYPE stands before the root).
        let mut rest = String::new();
        if let Err(err) = run.reader.into_inner().read_to_string(&mut rest) {
            return Ok(Sanitised::Unreadable(err.to_string()));
        }
        let Some(rest) = expand(&rest, &entities, limit) else {
            return Ok(Sanitised::Unreadable(
                "entities expand past the limit".into(),
            ));
        };
        let mut again = Run {
            reader: NsReader::from_reader(rest.as_bytes()),
            writer: run.writer,
            removed: run.removed,
        };
        outcome = again.copy();
        run.removed = again.removed;
    }
    match outcome {
        Ok(()) if run.removed == 0 => Ok(Sanitised::Clean),
        Ok(()) => Ok(Sanitised::Cleaned {
            removed: run.removed,
        }),
        Err(Stop::Write(err)) => Err(err),
        Err(Stop::Read(why)) => Ok(Sanitised::Unreadable(why)),
        Err(Stop::Expand(_)) => Ok(Sanitised::Unreadable("a second internal subset".into())),
    }
}

enum Stop {
    Read(String),
    Write(std::io::Error),
    /// The DOCTYPE declares text entities: the rest is to be read again
    /// with them expanded.
    Expand(HashMap<String, String>),
}

impl From<quick_xml::Error> for Stop {
    fn from(err: quick_xml::Error) -> Stop {
        Stop::Read(err.to_string())
    }
}

impl From<std::io::Error> for Stop {
    fn from(err: std::io::Error) -> Stop {
        Stop::Write(err)
    }
}

struct Run<R, W: Write> {
    reader: NsReader<R>,
    writer: Writer<W>,
    removed: usize,
}

impl<R: BufRead, W: Write> Run<R, W> {
    fn copy(&mut self) -> Result<(), Stop> {
        let mut buf = Vec::new();
        // Depth inside a removed element.
        let mut skipping = 0usize;
        let mut open = 0usize;
        let mut seen_root = false;
        loop {
            buf.clear();
            let (ns, event) = self.reader.read_resolved_event_into(&mut buf)?;
            let ns = namespace(&ns);
            match event {
                Event::Eof => break,
                Event::Start(_) | Event::Empty(_) if skipping > 0 => {
                    if matches!(event, Event::Start(_)) {
                        skipping += 1;
                    }
                }
                Event::End(_) if skipping > 0 => skipping -= 1,
                _ if skipping > 0 => {}
                Event::Start(ref start) | Event::Empty(ref start)
                    if !element_allowed(ns, start) =>
                {
                    self.removed += 1;
                    if matches!(event, Event::Start(_)) {
                        skipping = 1;
                    }
                }
                Event::Start(start) if is(&start, "style") => {
                    let start = self.clean_start(start.into_owned())?;
                    self.style(start)?;
                }
                Event::Start(start) => {
                    seen_root = true;
                    open += 1;
                    let start = self.clean_start(start.into_owned())?;
                    self.writer.write_event(Event::Start(start))?;
                }
                Event::Empty(start) => {
                    seen_root = true;
                    let start = self.clean_start(start.into_owned())?;
                    self.writer.write_event(Event::Empty(start))?;
                }
                Event::End(end) => {
                    open = open.saturating_sub(1);
                    self.writer.write_event(Event::End(end))?;
                }
                Event::DocType(doctype) => {
                    let text = doctype.xml10_content();
                    if text.contains('[') {
                        self.removed += 1;
                        let entities = text_entities(&text);
                        if !entities.is_empty() {
                            return Err(Stop::Expand(entities));
                        }
                    } else {
                        self.writer.write_event(Event::DocType(doctype))?;
                    }
                }
                Event::GeneralRef(reference) => {
                    let name = reference.xml10_content();
                    if is_predefined(&name) {
                        self.writer.write_event(Event::GeneralRef(reference))?;
                    } else {
                        // Undefined once the DOCTYPE is gone: a browser
                        // would refuse the whole file.
                        self.removed += 1;
                    }
                }
                Event::PI(_) => self.removed += 1,
                event @ (Event::Text(_) | Event::CData(_) | Event::Comment(_) | Event::Decl(_)) => {
                    self.writer.write_event(event)?;
                }
            }
        }
        if !seen_root {
            return Err(Stop::Read("no SVG element".into()));
        }
        if open > 0 || skipping > 0 {
            return Err(Stop::Read("the file ends inside an element".into()));
        }
        Ok(())
    }

    /// The start tag with only the attributes that neither run nor fetch.
    fn clean_start(&mut self, start: BytesStart<'static>) -> Result<BytesStart<'static>, Stop> {
        let name = start.name().as_ref().to_string();
        let mut clean = BytesStart::new(name);
        for attr in start.attributes() {
            let attr = attr.map_err(|e| Stop::Read(e.to_string()))?;
            let (_, local) = self.reader.resolver().resolve_attribute(attr.key);
            let local = local.as_ref().to_ascii_lowercase();
            let key = attr.key.as_ref().to_ascii_lowercase();
            if attribute_allowed(&key, &local, &attr.value) {
                clean.push_attribute(Attribute {
                    key: attr.key,
                    value: attr.value,
                });
            } else {
                self.removed += 1;
            }
        }
        Ok(clean)
    }

    /// A `<style>` element, kept whole only when its CSS fetches nothing.
    fn style(&mut self, start: BytesStart<'static>) -> Result<(), Stop> {
        let mut events = vec![Event::Start(start)];
        let mut css = String::new();
        let mut nested = false;
        let mut depth = 1usize;
        let mut buf = Vec::new();
        while depth > 0 {
            buf.clear();
            let event = self.reader.read_event_into(&mut buf)?.into_owned();
            match &event {
                Event::Start(_) => {
                    nested = true;
                    depth += 1;
                }
                Event::End(_) => depth -= 1,
                Event::Empty(_) => nested = true,
                Event::Text(text) => css.push_str(&text.xml10_content()),
                Event::CData(data) => css.push_str(&data.xml10_content()),
                Event::GeneralRef(reference) => {
                    css.push('&');
                    css.push_str(&reference.xml10_content());
                }
                Event::Eof => return Err(Stop::Read("unclosed <style>".into())),
                _ => {}
            }
            events.push(event);
        }
        if nested || !css_is_inert(&css) {
            self.removed += 1;
            return Ok(());
        }
        for event in events {
            self.writer.write_event(event)?;
        }
        Ok(())
    }
}

fn namespace<'a>(ns: &'a ResolveResult<'_>) -> Option<&'a str> {
    match ns {
        ResolveResult::Bound(Namespace(ns)) => Some(ns),
        _ => None,
    }
}

fn is(start: &BytesStart<'_>, name: &str) -> bool {
    start.local_name().as_ref().eq_ignore_ascii_case(name)
}

/// SVG elements from [`ELEMENTS`], and the markup of other vocabularies
/// that a browser neither runs nor draws (Inkscape's `sodipodi:namedview`,
/// RDF and Dublin Core in `<metadata>`): never XHTML or MathML, whose
/// elements run wherever they stand. What such an element holds is judged
/// element by element all the same.
fn element_allowed(ns: Option<&str>, start: &BytesStart<'_>) -> bool {
    let local = start.local_name().as_ref().to_ascii_lowercase();
    match ns {
        Some(SVG_NS) => ELEMENTS.contains(&local.as_str()),
        Some(other) => !ACTIVE_NAMESPACES.contains(&other),
        None => false,
    }
}

/// Whether an attribute (`key` as written, `local` without its prefix,
/// both lowercase; `value` raw) neither runs nor fetches.
fn attribute_allowed(key: &str, local: &str, value: &str) -> bool {
    if local.starts_with("on") || key == "xml:base" {
        return false;
    }
    if local == "href" || local == "src" {
        return reference_is_inert(value);
    }
    if key == "xmlns" || key.starts_with("xmlns:") {
        return true;
    }
    css_is_inert(value)
}

/// `#fragment`, or an inline raster image.
fn reference_is_inert(value: &str) -> bool {
    let value: String = decode_basic(value)
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_control())
        .collect::<String>()
        .to_ascii_lowercase();
    value.starts_with('#')
        || ["png", "jpeg", "jpg", "gif", "webp"]
            .iter()
            .any(|kind| value.starts_with(&format!("data:image/{kind};base64,")))
}

/// CSS (a `<style>` element, a `style` attribute, a presentation
/// attribute's value) that neither fetches nor runs: every `url()` points
/// inside the document; no `@import`, `image-set()`, `expression()`,
/// `javascript:`; no escapes (`\75 rl(` is `url(`).
fn css_is_inert(css: &str) -> bool {
    let css = decode_basic(css).to_ascii_lowercase();
    if css.contains('\\')
        || [
            "@import",
            "image-set(",
            "image(",
            "expression(",
            "javascript:",
            "behavior",
        ]
        .iter()
        .any(|bad| css.contains(bad))
    {
        return false;
    }
    let mut rest = css.as_str();
    while let Some(at) = rest.find("url(") {
        let target =
            rest[at + 4..].trim_start_matches(|c: char| c.is_whitespace() || c == '"' || c == '\'');
        if !target.starts_with('#') {
            return false;
        }
        rest = &rest[at + 4..];
    }
    true
}

/// The five predefined entities and numeric character references decoded,
/// so that `&#106;avascript:` is seen as what a browser sees.
fn decode_basic(raw: &str) -> String {
    if !raw.contains('&') {
        return raw.to_string();
    }
    quick_xml::escape::unescape(raw)
        .map(|s| s.into_owned())
        // An unknown entity: judge the text with it left as it is.
        .unwrap_or_else(|_| raw.to_string())
}

/// `text` with each `&name;` of `entities` replaced by its text, quotes
/// escaped (the text may stand in an attribute value); `None` past
/// `limit` bytes.
fn expand(text: &str, entities: &HashMap<String, String>, limit: u64) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        match after
            .find(';')
            .and_then(|end| Some((entities.get(&after[..end])?, end)))
        {
            Some((value, end)) => {
                out.push_str(&value.replace('"', "&quot;").replace('\'', "&apos;"));
                rest = &after[end + 1..];
                if out.len() as u64 > limit {
                    return None;
                }
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Some(out)
}

fn is_predefined(name: &str) -> bool {
    matches!(name, "lt" | "gt" | "amp" | "apos" | "quot") || name.starts_with('#')
}

/// `<!ENTITY name "text">` declarations of an internal subset whose text
/// holds no markup and no reference: what Illustrator writes
/// (`<!ENTITY ns_svg "http://www.w3.org/2000/svg">`).
fn text_entities(doctype: &str) -> HashMap<String, String> {
    let mut entities = HashMap::new();
    let mut rest = doctype;
    while let Some(at) = rest.find("<!ENTITY") {
        rest = &rest[at + "<!ENTITY".len()..];
        let mut words = rest.trim_start().splitn(2, char::is_whitespace);
        let (Some(name), Some(tail)) = (words.next(), words.next()) else {
            break;
        };
        let tail = tail.trim_start();
        let Some(quote) = tail.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            continue; // a parameter or external entity: not expanded
        };
        let Some(end) = tail[1..].find(quote) else {
            break;
        };
        let text = &tail[1..1 + end];
        if !text.contains(['<', '&', '%']) && name != "%" {
            entities.insert(name.to_string(), text.to_string());
        }
    }
    entities
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(svg: &str) -> (Sanitised, String) {
        let mut out = Vec::new();
        let result = sanitise(svg.as_bytes(), &mut out, 1 << 20).expect("writes to memory");
        (result, String::from_utf8(out).expect("UTF-8 out"))
    }

    fn cleaned(svg: &str) -> String {
        let (result, out) = run(svg);
        assert!(
            matches!(result, Sanitised::Cleaned { .. }),
            "{result:?} for {svg}"
        );
        out
    }

    const OPEN: &str = r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 10 10">"#;

    #[test]
    fn an_inkscape_drawing_is_served_as_it_was_fetched() {
        let svg = r##"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<!-- Created with Inkscape (http://www.inkscape.org/) -->
<svg xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:svg="http://www.w3.org/2000/svg" xmlns="http://www.w3.org/2000/svg" xmlns:sodipodi="http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd" xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" width="10mm" height="10mm" viewBox="0 0 10 10" version="1.1" inkscape:version="1.2" sodipodi:docname="logo.svg">
  <sodipodi:namedview id="base" pagecolor="#ffffff" inkscape:zoom="1.4" />
  <metadata><rdf:RDF><dc:title>Logo</dc:title></rdf:RDF></metadata>
  <g inkscape:label="Layer 1" inkscape:groupmode="layer"><path style="fill:#008080;stroke:none" d="M 0,0 H 10 V 10 Z" /></g>
</svg>
"##;
        assert_eq!(run(svg).0, Sanitised::Clean);
        // An XHTML script hidden in an editor's element still goes.
        let hidden = svg.replace(
            "<sodipodi:namedview",
            "<sodipodi:guide><h:script xmlns:h=\"http://www.w3.org/1999/xhtml\">x</h:script></sodipodi:guide><sodipodi:namedview",
        );
        assert!(!cleaned(&hidden).contains("script"));
    }

    #[test]
    fn a_drawing_is_served_as_it_was_fetched() {
        let svg = format!(
            r##"<?xml version="1.0"?>{OPEN}<defs><linearGradient id="g"><stop offset="0"/></linearGradient></defs><rect width="10" height="10" fill="url(#g)" style="stroke:url(#g)"/><use xlink:href="#g"/><text>a &amp; b</text></svg>"##
        );
        assert_eq!(run(&svg).0, Sanitised::Clean);
    }

    #[test]
    fn scripts_handlers_foreign_objects_and_animations_go() {
        let out = cleaned(&format!(
            r#"{OPEN}<script>alert(1)</script><SCRIPT>x</SCRIPT><foreignObject><body xmlns="http://www.w3.org/1999/xhtml"><script>x</script></body></foreignObject><circle r="1" onload="alert(1)" ONCLICK="x"/><a xlink:href="javascript:alert(1)"><set attributeName="href" to="javascript:alert(2)"/><animate attributeName="href" values="javascript:x"/>t</a><h:script xmlns:h="http://www.w3.org/1999/xhtml">x</h:script></svg>"#
        ));
        for gone in [
            "script",
            "SCRIPT",
            "alert",
            "foreignObject",
            "onload",
            "ONCLICK",
            "<set",
            "<animate",
            "javascript",
        ] {
            assert!(!out.contains(gone), "{gone} kept in {out}");
        }
        assert!(out.contains(r#"<circle r="1"/>"#), "{out}");
        assert!(out.contains("<a>t</a>"), "{out}");
    }

    #[test]
    fn references_that_leave_the_document_go() {
        let out = cleaned(&format!(
            r#"{OPEN}<?xml-stylesheet href="https://evil.example/x.css"?><image href="https://evil.example/a.png"/><image xlink:href="data:image/svg+xml,&lt;svg"/><image href="data:image/png;base64,AAAA"/><rect style="fill:url(https://evil.example/t)"/><rect fill="URL( 'http://e/x' )"/><style>@import "https://evil.example/x.css";</style><style>.a{{fill:red}}</style><feImage href="&#104;ttp://e/x"/><rect style="background:\75 rl(http://e)"/></svg>"#
        ));
        assert!(!out.contains("evil") && !out.contains("http://e/"), "{out}");
        assert!(
            out.contains(r#"<image href="data:image/png;base64,AAAA"/>"#),
            "{out}"
        );
        assert!(out.contains(".a{fill:red}"), "{out}");
    }

    #[test]
    fn case_is_kept_as_written() {
        let out = cleaned(&format!(
            r#"{OPEN}<clipPath id="c"><rect/></clipPath><path onload="x" pathLength="1"/></svg>"#
        ));
        assert!(out.contains(r#"viewBox="0 0 10 10""#), "{out}");
        assert!(out.contains("<clipPath"), "{out}");
        assert!(out.contains(r#"pathLength="1""#), "{out}");
    }

    #[test]
    fn an_internal_subset_goes_and_its_text_entities_are_expanded() {
        let out = cleaned(
            r#"<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY ns_svg "http://www.w3.org/2000/svg"><!ENTITY boom "<script>alert(1)</script>">]><svg xmlns="&ns_svg;"><text>&boom;&ns_svg;</text></svg>"#,
        );
        assert!(!out.contains("DOCTYPE") && !out.contains("script"), "{out}");
        assert!(
            out.contains(r#"<svg xmlns="http://www.w3.org/2000/svg">"#),
            "{out}"
        );
    }

    #[test]
    fn inkscape_metadata_stays_and_xhtml_inside_it_goes() {
        let out = cleaned(&format!(
            r#"{OPEN}<metadata><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description/></rdf:RDF><x:script xmlns:x="http://www.w3.org/1999/xhtml">x</x:script></metadata><path onclick="x"/></svg>"#
        ));
        assert!(out.contains("<rdf:Description/>"), "{out}");
        assert!(!out.contains("x:script"), "{out}");
    }

    #[test]
    fn entities_that_expand_past_the_limit_are_unreadable() {
        let refs = "&big;".repeat(1000);
        let svg = format!(
            r#"<!DOCTYPE svg [<!ENTITY big "{}">]><svg xmlns="http://www.w3.org/2000/svg"><text>{refs}</text></svg>"#,
            "x".repeat(10_000)
        );
        assert!(matches!(run(&svg).0, Sanitised::Unreadable(_)));
    }

    #[test]
    fn a_file_that_is_not_xml_is_unreadable() {
        for bad in [
            "<svg><g></svg>",
            "not xml at all",
            "<svg xmlns='http://www.w3.org/2000/svg'>",
        ] {
            assert!(matches!(run(bad).0, Sanitised::Unreadable(_)), "{bad}");
        }
    }
}
