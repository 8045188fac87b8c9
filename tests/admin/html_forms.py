"""A panel form read as a browser reads it: which option each drop-down shows, and what
pressing a submit button sends (HTML's "successful controls").

Only what the panel's forms use: text-like inputs, checkboxes, single drop-downs, text
areas and submit buttons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Select:
    options: list[tuple[str, bool]] = field(default_factory=list)  # (value, selected)

    @property
    def selected(self) -> list[str]:
        return [value for value, chosen in self.options if chosen]

    @property
    def shown(self) -> str | None:
        """The option a browser shows, and sends: the selected one, else the first."""
        chosen = self.selected
        if chosen:
            return chosen[-1]
        return self.options[0][0] if self.options else None


@dataclass
class HtmlForm:
    action: str = ""
    inputs: list[tuple[str, str]] = field(default_factory=list)  # what is sent, in order
    selects: dict[str, Select] = field(default_factory=dict)
    textareas: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str]] = field(default_factory=list)

    def submission(self, button: str = "Save") -> list[tuple[str, str]]:
        """The fields a browser sends when ``button`` is pressed, nothing changed."""
        sent = list(self.inputs)
        sent += [(name, select.shown) for name, select in self.selects.items() if select.shown]
        # Browsers send a text area's line breaks as CR LF, whatever the page held.
        sent += [
            (name, text.replace("\r\n", "\n").replace("\n", "\r\n"))
            for name, text in self.textareas.items()
        ]
        sent += [(name, value) for name, value in self.buttons if value == button]
        return sent


class _Reader(HTMLParser):
    def __init__(self, action_contains: str) -> None:
        super().__init__(convert_charrefs=True)
        self.action_contains = action_contains
        self.form: HtmlForm | None = None
        self.inside = False
        self.select: Select | None = None
        self.textarea: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {key: value or "" for key, value in attrs}
        if tag == "form" and self.action_contains in found.get("action", ""):
            self.form, self.inside = HtmlForm(action=found["action"]), True
        if not self.inside or self.form is None:
            return
        name = found.get("name", "")
        if tag == "input" and name:
            kind = found.get("type", "text")
            if kind == "submit":
                self.form.buttons.append((name, found.get("value", "")))
            elif kind == "checkbox":
                if "checked" in found:
                    self.form.inputs.append((name, found.get("value", "on")))
            elif kind != "file":
                self.form.inputs.append((name, found.get("value", "")))
        elif tag == "select" and name:
            self.select = self.form.selects.setdefault(name, Select())
        elif tag == "option" and self.select is not None:
            self.select.options.append((found.get("value", ""), "selected" in found))
        elif tag == "textarea" and name:
            self.textarea, self.text = name, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea" and self.textarea is not None and self.form is not None:
            text = "".join(self.text)
            # HTML drops one newline right after <textarea>.
            self.form.textareas[self.textarea] = text.removeprefix("\n")
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.text.append(data)


def as_post(fields: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Fields as ``TestClient.post(data=...)`` takes them (a name may repeat)."""
    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    return data


def read_form(page: str, action_contains: str) -> HtmlForm:
    """The form of ``page`` whose action contains ``action_contains``."""
    reader = _Reader(action_contains)
    reader.feed(page)
    assert reader.form is not None, f"no form posting to {action_contains!r} on the page"
    return reader.form
