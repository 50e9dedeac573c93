//! Server-rendered pages: the landing page (zh-CN by default, `?lang=en` for English) and the
//! HTML 404 page (the console, the portal and the kiosk have their own modules).

use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// Whether the query string asks for English (`lang=en`); anything else is zh-CN.
fn english(q: &RawQuery) -> bool {
    q.0.as_deref()
        .is_some_and(|q| q.split('&').any(|kv| kv.eq_ignore_ascii_case("lang=en")))
}

const STYLE: &str = "body{font-family:system-ui,'PingFang SC','Microsoft YaHei',sans-serif;\
max-width:42rem;margin:2rem auto;padding:0 1rem;line-height:1.6;color:#1a1a1a}\
h1{color:#b31b1b;font-size:1.6rem}ul{padding-left:1.2rem}a{color:#0b57d0}\
footer{margin-top:2rem;font-size:.9rem;color:#555}";

fn page(lang: &str, title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
}

/// `GET /assets/fonts/NotoSansSC-Regular.otf`: the vendored CJK font (SIL OFL 1.1) for the
/// pages' `@font-face`, so Chinese renders on terminals without a CJK font installed. Pages
/// list locally installed fonts first, so browsers that have one never download it.
pub async fn cjk_font() -> impl axum::response::IntoResponse {
    (
        [
            (axum::http::header::CONTENT_TYPE, "font/otf"),
            (
                axum::http::header::CACHE_CONTROL,
                "public, max-age=31536000, immutable",
            ),
        ],
        sscard_service::cards::certificates::FONT_OTF,
    )
}

/// `GET /`.
pub async fn landing(q: RawQuery) -> Html<String> {
    let html = if english(&q) {
        page(
            "en",
            "Social Security Card Service",
            "<header><h1>Social Security Card Service</h1>\
             <p>社会保障卡服务平台 · <a href=\"/\">中文</a></p></header>\n<main><ul>\
             <li><a href=\"/console/\">Staff console</a> (counter and back office)</li>\
             <li><a href=\"/portal/\">Cardholder portal</a> (self-service queries)</li>\
             <li><a href=\"/kiosk/\">Self-service kiosk</a></li>\
             <li><a href=\"/api/v1/openapi.json\">API description (OpenAPI 3)</a></li>\
             </ul></main>\n<footer>Hotline: <strong>12333</strong> \
             (HR and social security service line)</footer>",
        )
    } else {
        page(
            "zh-CN",
            "社会保障卡服务平台",
            "<header><h1>社会保障卡服务平台</h1>\
             <p>Social Security Card Service · <a href=\"/?lang=en\">English</a></p></header>\n<main><ul>\
             <li><a href=\"/console/\">经办工作台</a>(柜面与后台业务)</li>\
             <li><a href=\"/portal/\">个人服务门户</a>(持卡人自助查询)</li>\
             <li><a href=\"/kiosk/\">自助终端</a></li>\
             <li><a href=\"/api/v1/openapi.json\">接口说明(OpenAPI 3)</a></li>\
             </ul></main>\n<footer>咨询电话:<strong>12333</strong>(人力资源和社会保障服务热线)</footer>",
        )
    };
    Html(html)
}

/// The HTML 404 page of paths outside the API.
pub fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(page(
            "zh-CN",
            "页面不存在",
            "<h1>页面不存在 / Page not found</h1><p><a href=\"/\">返回首页 / Home</a></p>",
        )),
    )
        .into_response()
}
