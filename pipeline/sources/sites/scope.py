"""The case, not the page around it: generic boilerplate removal for case pages.

No class names. Three rules, from the HTML's own semantics and the page's links:
1. Page chrome: navigation, complementary blocks, forms, ads frames and dialogs (by element
   and ARIA role), and page-level headers and footers (a header inside an article is the
   article's own) are removed.
2. The case's container is the lowest common ancestor of what the site's selectors found of
   the case (title, patient data, sections, studies).
3. A block about other pages is removed: a language switcher (a short block around an
   `hreflang` link), and the largest block around a link to another
   case of the site whose text is mostly such links, or whose every image links elsewhere (a
   "related posts" list, a "case of the week" teaser, a sidebar of thumbnails), and a list of
   two or more items that each link to another case. Blocks holding what the site's
   selectors found of the case are never removed.
Images are read where lazy loading hides them (data-src, data-lazy-src, srcset, <noscript>).

Why not a main-content library: trafilatura 2.3, readability-lxml 0.9 and justext 3.0 were
measured on the labelled pages (issue 17). Each returns a rewritten copy of the text (justext:
text only), without the classes, rows and data attributes the sites' field ways read; on the
Eurorad and SIRM pages trafilatura kept 12 of 25 case images, readability 23 of 25 with
decoys and a third of the noise, justext no case text with its defaults; readability picks its
container by a class-name list. These rules keep the page's own tree and need no dependency.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from urllib.parse import urljoin, urlsplit

from bs4 import NavigableString, Tag

CHROME_TAGS = ("nav", "aside", "form", "button", "select", "iframe", "ins", "dialog", "embed")
CHROME_ROLES = frozenset(
    {"navigation", "complementary", "banner", "contentinfo", "search", "dialog", "alertdialog",
     "menu", "menubar", "toolbar", "tablist"}
)  # fmt: skip
SECTIONING = ("article", "main", "section")
IMAGE_FILE = re.compile(r"\.(?:jpe?g|png|gif|webp|tiff?|bmp|avif)$", re.I)
# Where lazy loading keeps the real address, best first.
IMAGE_ADDRESS_ATTRIBUTES = ("data-src", "data-lazy-src", "data-original", "data-full",
                            "data-large-file", "src")  # fmt: skip
SRCSET_ATTRIBUTES = ("srcset", "data-srcset", "data-lazy-srcset")
MOSTLY = 0.5  # share of a block's text in links to other cases that makes it about them
CAPTION_MAX = 600  # an image's item with more text than this is a section, not a caption
TOGGLE_MAX = 120  # a language switcher is a short line; longer text around a link is prose

IsOtherCase = Callable[[str], bool]


def _words(text: str) -> str:
    return " ".join(text.split())


def strip_chrome(root: Tag) -> None:
    """Remove navigation, sidebars, forms, frames, dialogs and page-level header/footer."""
    for node in root.find_all(CHROME_TAGS):
        node.decompose()
    for node in root.find_all(attrs={"role": True}):
        if not node.decomposed and str(node.get("role", "")).lower() in CHROME_ROLES:
            node.decompose()
    for node in root.find_all(["header", "footer"]):
        if not node.decomposed and node.find_parent(SECTIONING) is None:
            node.decompose()


def drop_language_toggles(root: Tag, keep: Iterable[Tag | None] = ()) -> None:
    """Remove language switchers: the short block around a link to a translation (`hreflang`,
    as WPML and Polylang write them)."""
    kept = [node for node in keep if node is not None]
    for link in root.find_all("a", hreflang=True):
        if link.decomposed:
            continue
        block = link
        for parent in link.parents:
            too_long = len(_words(parent.get_text(" "))) > TOGGLE_MAX
            if parent is root or too_long or _holds(parent, kept):
                break
            block = parent
        block.decompose()


def container_of(anchors: Iterable[Tag | None]) -> Tag | None:
    """The lowest common ancestor of the anchors (the case's own content block)."""
    nodes = [node for node in anchors if node is not None]
    if not nodes:
        return None
    common = [nodes[0], *nodes[0].parents]
    for node in nodes[1:]:
        lineage = {id(item) for item in (node, *node.parents)}
        common = [item for item in common if id(item) in lineage]
    return common[0] if common else None


def link_target(link: Tag, page_url: str) -> str | None:
    href = link.get("href")
    href = href.strip() if isinstance(href, str) else ""
    if not href or href.startswith(("#", "javascript:")):
        return None
    return urljoin(page_url, href)


def same_page(url: str, page_url: str) -> bool:
    """The page itself, or below it (a WordPress attachment page, a lightbox anchor)."""
    a, b = urlsplit(url), urlsplit(page_url)
    path, base = a.path.rstrip("/"), b.path.rstrip("/")
    return a.netloc.lower() == b.netloc.lower() and (path == base or path.startswith(base + "/"))


def links_elsewhere(link: Tag, page_url: str) -> bool:
    """A link to another HTML page (not an image file, not this page or below it)."""
    target = link_target(link, page_url)
    if target is None or urlsplit(target).scheme not in ("http", "https"):
        return False
    return not IMAGE_FILE.search(urlsplit(target).path) and not same_page(target, page_url)


def is_foreign_image(img: Tag, page_url: str) -> bool:
    """An image that links to another page: a teaser of other content, never this case's."""
    link = img.find_parent("a")
    return link is not None and links_elsewhere(link, page_url)


def _other_case_links(node: Tag, page_url: str, is_other_case: IsOtherCase) -> list[Tag]:
    found = []
    for link in node.find_all("a"):
        target = link_target(link, page_url)
        if target and not same_page(target, page_url) and is_other_case(target):
            found.append(link)
    return found


def _about_other_cases(node: Tag, page_url: str, is_other_case: IsOtherCase) -> bool:
    text = len(_words(node.get_text(" ")))
    linked = sum(
        len(_words(link.get_text(" "))) for link in _other_case_links(node, page_url, is_other_case)
    )
    if text and linked / text >= MOSTLY:
        return True
    images = node.find_all("img")
    return bool(images) and all(is_foreign_image(img, page_url) for img in images)


def _holds(node: Tag, keep: list[Tag]) -> bool:
    return any(node is item or any(parent is node for parent in item.parents) for item in keep)


def prune_other_cases(
    container: Tag, page_url: str, is_other_case: IsOtherCase, keep: Iterable[Tag | None] = ()
) -> int:
    """Remove the blocks about other cases from `container`; never one holding `keep`.

    Returns how many blocks were removed."""
    kept = [node for node in keep if node is not None]
    drop_language_toggles(container, kept)
    removed = 0
    for link in _other_case_links(container, page_url, is_other_case):
        if link.decomposed or _holds(link, kept):
            continue
        block = None
        node: Tag | None = link.parent  # an inline link alone is words of the case
        while node is not None and node is not container and not _holds(node, kept):
            if _about_other_cases(node, page_url, is_other_case):
                block = node
            elif block is not None:
                break
            node = node.parent
        if block is not None:
            block.decompose()
            removed += 1
    for node in list(container.find_all(True)):
        if node.decomposed or _holds(node, kept) or node is container:
            continue
        items = [child for child in node.find_all(True, recursive=False)
                 if _led_by_other_case(child, page_url, is_other_case)]  # fmt: skip
        if len(items) >= 2:
            parent = node.parent
            node.decompose()
            removed += 1
            _drop_orphaned_heading(parent, container, kept)
    for img in container.find_all("img"):
        if not img.decomposed and is_foreign_image(img, page_url) and not _holds(img, kept):
            img.find_parent("a").decompose()
            removed += 1
    return removed


def _led_by_other_case(item: Tag, page_url: str, is_other_case: IsOtherCase) -> bool:
    """An item that opens with a link to another case (its title or thumbnail): a list entry
    of other cases, unlike a paragraph of the case that mentions one."""
    for node in item.descendants:
        opens = (isinstance(node, Tag) and node.name == "img") or (
            isinstance(node, NavigableString) and node.strip()
        )
        if opens:
            link = node.find_parent("a")
            target = link_target(link, page_url) if link is not None else None
            return bool(target and not same_page(target, page_url) and is_other_case(target))
    return False


def _drop_orphaned_heading(node: Tag | None, container: Tag, kept: list[Tag]) -> None:
    """A block left with only a short heading once its list of other cases is gone."""
    while node is not None and node is not container and not _holds(node, kept):
        if node.find("img") is not None or len(_words(node.get_text(" "))) > 60:
            return
        parent = node.parent
        node.decompose()
        node = parent


# -- images -----------------------------------------------------------------------------------


def _srcset_widest(value: str) -> str | None:
    best, best_width = None, -1
    for entry in value.split(","):
        parts = entry.split()
        if not parts or parts[0].startswith("data:"):
            continue
        width = parts[1] if len(parts) > 1 else ""
        number = int(width[:-1]) if width[:-1].isdigit() and width[-1:] in ("w", "x") else 0
        if number > best_width:
            best, best_width = parts[0], number
    return best


def image_address(
    img: Tag,
    page_url: str,
    *,
    prefer_srcset: bool = False,
    attributes: tuple[str, ...] = IMAGE_ADDRESS_ATTRIBUTES,
) -> str | None:
    """The real address an <img> shows, never a data: placeholder; relative ones made absolute.

    With `prefer_srcset`, the widest srcset entry comes before the lazy attributes."""
    srcset = next((img.get(name) for name in SRCSET_ATTRIBUTES if img.get(name)), None)
    widest = _srcset_widest(srcset) if isinstance(srcset, str) else None
    if prefer_srcset and widest:
        return urljoin(page_url, widest)
    for name in attributes:
        value = img.get(name)
        if isinstance(value, str) and value.strip() and not value.strip().startswith("data:"):
            return urljoin(page_url, value.strip().split()[0])
    return urljoin(page_url, widest) if widest else None


def image_item(img: Tag, root: Tag, is_image: Callable[[Tag], bool]) -> Tag:
    """The largest block below `root` around `img` that holds no other image of the case:
    a gallery item, a figure, a captioned block, or the image's own paragraph."""
    item = img
    for parent in img.parents:
        if parent is root or parent is None:
            break
        if any(other is not img and is_image(other) for other in parent.find_all("img")):
            break
        item = parent
    return item


def caption_of(item: Tag) -> str | None:
    """An image item's own words, when short enough to be a caption."""
    text = _words(item.get_text(" "))
    return text if text and len(text) <= CAPTION_MAX else None
