//! A fake CDN with the hotlink protections real ones have (see the README's
//! "Hotlink-protected CDNs"), one per path prefix, on the raw server:
//!
//! - `/wechat/<id>`: the real image with no Referer, a placeholder (200,
//!   a valid image) with any Referer (mmbiz.qpic.cn);
//! - `/zhihu/<id>`: 403 with a Referer, the image without (pic*.zhimg.com);
//! - `/weibo/<id>`: 403 unless the Referer is the post's source origin
//!   (*.sinaimg.cn and weibo.com);
//! - `/sspai/<id>`: 403 unless the Referer is the CDN's own origin;
//! - `/om_bt/<id>/641` and `/om_bt/<id>/0`: a display size and the
//!   original (inews.gtimg.com); `/gone/<id>/0` is 404, `/gone/<id>/641`
//!   the image;
//! - `/always/<id>`: the placeholder whatever is sent;
//! - `/dup/<id>`: one shared image whatever is sent (a spacer, a logo);
//! - `/mmbiz/<id>/<variant>`: WeChat's one picture under several URLs: the
//!   real image of `<id>` (whatever the variant) with no Referer, a
//!   placeholder card (a JPEG) with any Referer;
//!
//! It logs every request's path and Referer, and can be switched to
//! answering the placeholder everywhere (`protect_all`), as a CDN that
//! starts refusing hotlinks after a post was archived.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use image::ImageFormat;

use crate::images::*;
use crate::server::*;

/// The placeholder's bytes, as the CDN serves it.
pub(crate) fn placeholder() -> Vec<u8> {
    placeholder_card(240, 160, ImageFormat::Png)
}

/// The placeholder card as a JPEG (what mmbiz.qpic.cn serves).
pub(crate) fn placeholder_jpeg() -> Vec<u8> {
    placeholder_card(240, 160, ImageFormat::Jpeg)
}

/// The real image at `path`: distinct per path.
pub(crate) fn real(path: &str) -> Vec<u8> {
    let (w, h) = if path.ends_with("/0") {
        (1200, 800)
    } else {
        (641, 427)
    };
    jpeg(w, h, seed_of(path))
}

/// Each request's path and Referer, in order.
type Log = Arc<Mutex<Vec<(String, Option<String>)>>>;

pub(crate) struct Cdn {
    pub server: RawServer,
    log: Log,
    protect_all: Arc<AtomicBool>,
}

impl Cdn {
    /// The CDN; `/weibo/` accepts `source_origin` as its Referer.
    pub(crate) async fn start(source_origin: &str) -> Cdn {
        let log: Log = Arc::default();
        let protect_all = Arc::new(AtomicBool::new(false));
        let (l, p, source) = (log.clone(), protect_all.clone(), source_origin.to_string());
        let own = Arc::new(Mutex::new(String::new()));
        let own_in = own.clone();
        let server = RawServer::start_with(Options::default(), move |r| {
            let referer = r.header("referer").map(str::to_string);
            l.lock().unwrap().push((r.path.clone(), referer.clone()));
            if p.load(Ordering::SeqCst) {
                return Reply::ok(placeholder());
            }
            let own_origin = own_in.lock().unwrap().clone();
            let path = r.path.as_str();
            let image = || Reply::ok(real(path));
            let forbidden = || Reply::status(403);
            match path.split('/').nth(1).unwrap_or("") {
                "wechat" if referer.is_none() => image(),
                "wechat" => Reply::ok(placeholder()),
                "zhihu" if referer.is_none() => image(),
                "zhihu" => forbidden(),
                "weibo" if referer.as_deref() == Some(source.as_str()) => image(),
                "weibo" => forbidden(),
                "sspai" if referer.as_deref() == Some(own_origin.as_str()) => image(),
                "sspai" => forbidden(),
                "om_bt" => image(),
                "gone" if path.ends_with("/0") => Reply::status(404),
                "gone" => image(),
                "always" => Reply::ok(placeholder()),
                "dup" => Reply::ok(jpeg(64, 64, 99)),
                "mmbiz" if referer.is_none() => {
                    let picture = path.split('/').nth(2).unwrap_or("");
                    Reply::ok(jpeg(641, 427, seed_of(picture)))
                }
                "mmbiz" => Reply::ok(placeholder_jpeg()),
                _ => Reply::status(404),
            }
        })
        .await;
        *own.lock().unwrap() = format!("{}/", server.base);
        Cdn {
            server,
            log,
            protect_all,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    /// The Referers `path` was asked with, in order (`None`: none sent).
    pub(crate) fn referers(&self, path: &str) -> Vec<Option<String>> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, r)| r.clone())
            .collect()
    }

    pub(crate) fn protect_all(&self) {
        self.protect_all.store(true, Ordering::SeqCst);
    }
}
