import { render } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import { Snippet } from "./Snippet";
import { decodeEntities, snippetParts } from "./snippet";

describe("search snippets", () => {
  it("splits the server's escaped snippet into text and highlighted words", () => {
    expect(snippetParts("fees for &quot;term 2&quot; are <mark>due</mark> on Monday")).toEqual([
      { text: 'fees for "term 2" are ', mark: false },
      { text: "due", mark: true },
      { text: " on Monday", mark: false },
    ]);
  });

  it("decodes the entities the server writes, and leaves unknown ones alone", () => {
    expect(decodeEntities("a &amp; b &lt;c&gt; &#39;d&#39; &#x41; &nbsp1 &bogus;")).toBe("a & b <c> 'd' A &nbsp1 &bogus;");
    expect(decodeEntities("&amp;lt;")).toBe("&lt;"); // decoded once, never twice
  });

  it("renders a message that holds markup as plain text", () => {
    const { container } = render(
      <Snippet snippet={'&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(2)&gt; <mark>fees</mark>'} />,
    );
    expect(container.querySelector("script")).toBeNull();
    expect(container.querySelector("img")).toBeNull();
    expect(container.textContent).toBe("<script>alert(1)</script> <img src=x onerror=alert(2)> fees");
    expect(container.querySelector("mark")?.textContent).toBe("fees");
  });
});
