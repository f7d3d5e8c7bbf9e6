//! What tests read out of pages and emails: links, CSRF tokens, secrets and ids.

/// The path of a link in an email (`http://portal.test/x/y` → `/x/y`).
pub fn path_of(link: &str) -> String {
    let u = url::Url::parse(link).expect("a link");
    u.path().to_string()
}

/// The first link in a text that starts with the base URL and contains `fragment`.
pub fn find_link(text: &str, fragment: &str) -> String {
    text.split_whitespace()
        .find(|w| w.starts_with("http://portal.test/") && w.contains(fragment))
        .unwrap_or_else(|| panic!("no link with {fragment:?} in:\n{text}"))
        .to_string()
}

pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf-token\" content=\"";
    let start = html.find(marker).expect("a csrf meta tag") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

/// HTML with the entities askama writes turned back into characters, for text assertions.
pub fn unescaped(html: &str) -> String {
    html.replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The secret on a "shown once" page.
pub fn secret_in(html: &str) -> Option<String> {
    let start = html.find("cc_sk_")?;
    Some(html[start..start + 56].to_string())
}

/// The API ID shown on a page or in an email (`cc_id_` + 24 characters).
pub fn api_id_in(text: &str) -> String {
    let start = text.find("cc_id_").expect("an API ID");
    text[start..start + 30].to_string()
}

/// The id of the first authorization with actions on an organization's Integrations page.
pub fn first_authorization_id(html: &str) -> String {
    let start = html
        .find("/integrations/")
        .expect("an authorization action")
        + "/integrations/".len();
    html[start..].split('/').next().unwrap().to_string()
}

/// Every link target (`href`) of a page, in order.
pub fn hrefs(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_string())
        .collect()
}

/// The action of the first POST form in the page's `<main>` (a confirmation step's form).
pub fn post_action(html: &str) -> String {
    let main = &html[html.find("<main").expect("a main")..];
    let at = main.find("method=\"post\" action=\"").expect("a POST form")
        + "method=\"post\" action=\"".len();
    main[at..].split('"').next().unwrap().to_string()
}

/// The `href` of the page's link with `rel="{rel}"` (`next`, `prev`), unescaped.
pub fn rel_link(html: &str, rel: &str) -> Option<String> {
    let at = html.find(&format!("rel=\"{rel}\""))?;
    let start = html[..at].rfind("href=\"")? + 6;
    let end = start + html[start..].find('"')?;
    Some(html[start..end].replace("&#38;", "&").replace("&amp;", "&"))
}
