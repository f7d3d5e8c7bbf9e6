//! The OpenAPI document's descriptions are CommonMark. They are rendered here, on the server,
//! with pulldown-cmark, and nothing in them becomes markup the page did not choose: raw HTML is
//! shown as text, headings become bold paragraphs (the page owns its heading outline), images
//! become their alternative text, and links go only to this site, `http(s)` or `mailto`.

use pulldown_cmark::{html, CowStr, Event, Options, Parser, Tag, TagEnd};

/// Block Markdown (paragraphs, lists, code blocks) as safe HTML.
pub fn block(md: &str) -> String {
    render(md, false)
}

/// Markdown for a table cell or a sentence: a single paragraph loses its `<p>`.
pub fn inline(md: &str) -> String {
    render(md, true)
}

fn render(md: &str, inline: bool) -> String {
    let events: Vec<Event> = Parser::new_ext(md, Options::empty()).collect();
    // Only a text that is one paragraph can do without it.
    let single_paragraph = inline
        && matches!(events.first(), Some(Event::Start(Tag::Paragraph)))
        && matches!(events.last(), Some(Event::End(TagEnd::Paragraph)))
        && events
            .iter()
            .filter(|e| matches!(e, Event::Start(Tag::Paragraph)))
            .count()
            == 1;
    let last = events.len().saturating_sub(1);
    // For each open link: whether it was kept (a dropped link keeps only its text).
    let mut links: Vec<bool> = Vec::new();
    let mut safe = Vec::with_capacity(events.len() + 4);
    for (i, event) in events.into_iter().enumerate() {
        if single_paragraph && (i == 0 || i == last) {
            continue;
        }
        match event {
            Event::Html(raw) | Event::InlineHtml(raw) => safe.push(Event::Text(raw)),
            Event::Start(Tag::HtmlBlock) => safe.push(Event::Start(Tag::Paragraph)),
            Event::End(TagEnd::HtmlBlock) => safe.push(Event::End(TagEnd::Paragraph)),
            Event::Start(Tag::Heading { .. }) => {
                safe.push(Event::Start(Tag::Paragraph));
                safe.push(Event::Start(Tag::Strong));
            }
            Event::End(TagEnd::Heading(_)) => {
                safe.push(Event::End(TagEnd::Strong));
                safe.push(Event::End(TagEnd::Paragraph));
            }
            // The alternative text stays, as text.
            Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => {}
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let keep = allowed_link(&dest_url);
                links.push(keep);
                if keep {
                    safe.push(Event::Start(Tag::Link {
                        link_type,
                        dest_url,
                        title,
                        id,
                    }));
                }
            }
            Event::End(TagEnd::Link) => {
                if links.pop().unwrap_or(false) {
                    safe.push(Event::End(TagEnd::Link));
                }
            }
            other => safe.push(other),
        }
    }
    let mut out = String::with_capacity(md.len() * 3 / 2);
    html::push_html(&mut out, safe.into_iter());
    out.trim_end().to_string()
}

/// A fragment, a path on this site, or an `http(s)`/`mailto` URL; never `javascript:`,
/// `data:` or a scheme-relative `//host`.
fn allowed_link(dest: &CowStr) -> bool {
    let d = dest.trim();
    let lower = d.to_ascii_lowercase();
    d.starts_with('#')
        || (d.starts_with('/') && !d.starts_with("//") && !d.starts_with("/\\"))
        || lower.starts_with("https://")
        || lower.starts_with("http://")
        || lower.starts_with("mailto:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_and_emphasis_become_markup() {
        assert_eq!(
            inline("The event's unique ID (`evt_…`), **required**"),
            "The event's unique ID (<code>evt_…</code>), <strong>required</strong>"
        );
        assert_eq!(block("One\n\nTwo"), "<p>One</p>\n<p>Two</p>");
        // Two paragraphs stay two, even where one is expected.
        assert_eq!(inline("One\n\nTwo"), "<p>One</p>\n<p>Two</p>");
        assert_eq!(inline("- a\n- b"), "<ul>\n<li>a</li>\n<li>b</li>\n</ul>");
    }

    #[test]
    fn raw_html_is_shown_as_text() {
        for (md, shown) in [
            (
                "Send <script>alert(1)</script> now",
                "&lt;script&gt;alert(1)&lt;/script&gt;",
            ),
            (
                "<div onclick=\"x()\">block</div>",
                // Text content: quotes need no escaping there.
                "&lt;div onclick=\"x()\"&gt;block&lt;/div&gt;",
            ),
            (
                "Authorization: Bearer <API ID>:<API Secret>",
                "Bearer &lt;API ID&gt;:&lt;API Secret&gt;",
            ),
            (
                "<img src=x onerror=alert(1)>",
                "&lt;img src=x onerror=alert(1)&gt;",
            ),
            ("<!-- hidden -->", "&lt;!-- hidden --&gt;"),
        ] {
            for html in [inline(md), block(md)] {
                assert!(html.contains(shown), "{md:?} → {html}");
                assert!(!html.contains("<script"), "{html}");
                assert!(!html.contains("<div"), "{html}");
                assert!(!html.contains("<img"), "{html}");
                assert!(!html.contains("<!--"), "{html}");
            }
        }
    }

    #[test]
    fn only_harmless_links_are_kept() {
        assert_eq!(
            inline("[the document](/api/v1/openapi.json)"),
            "<a href=\"/api/v1/openapi.json\">the document</a>"
        );
        assert_eq!(inline("[Me](#schema-Me)"), "<a href=\"#schema-Me\">Me</a>");
        assert!(inline("<https://concat.example/x>").contains("href=\"https://concat.example/x\""));
        for bad in [
            "[click](javascript:alert(1))",
            "[click]( JavaScript:alert(1))",
            "[click](data:text/html,<script>x</script>)",
            "[click](//evil.example)",
            "[click](vbscript:x)",
        ] {
            let html = inline(bad);
            assert!(!html.contains("href"), "{bad} → {html}");
            assert!(html.contains("click"), "{bad} → {html}");
        }
        // Images: their text only (nothing is loaded from elsewhere).
        assert_eq!(inline("![a chart](https://evil.example/x.png)"), "a chart");
    }

    #[test]
    fn headings_do_not_enter_the_pages_outline() {
        assert_eq!(
            block("# Title\ntext"),
            "<p><strong>Title</strong></p>\n<p>text</p>"
        );
    }
}
