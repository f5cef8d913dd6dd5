// The Files tab: browse a session's directories (from /home/user), upload,
// download, edit and save text files, make folders, rename and delete.
import { api, el, formatBytes, request, clearError } from "./api.js";
import { createEditor } from "./editor.js";
import {
    HOME, askText, baseName, confirmDialog, dateTime, joinPath, languageOf, parentPath, report, sessionPath,
} from "./sessions-common.js";

const MAX_EDIT = 2 * 1024 * 1024;   // larger files are downloaded, not edited

// A small folder or page outline (no emoji font needed), in currentColor.
function icon(isDir) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 16 16");
    svg.setAttribute("class", "sx-ficon");
    svg.setAttribute("aria-hidden", "true");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("fill", "none");
    path.setAttribute("stroke", "currentColor");
    path.setAttribute("stroke-width", "1.4");
    path.setAttribute("d", isDir
        ? "M1.5 3.5h4.5l1.5 1.5h7v8.5h-13z"
        : "M3.5 1.5h6l3 3v10h-9z M9.5 1.5v3h3");
    svg.append(path);
    return svg;
}

export function createFiles(panel, sid) {
    let dir = HOME, entries = [], editor = null, openPath = null, dirty = false, loadSeq = 0;
    const filesUrl = (p) => sessionPath(sid, `/files?path=${encodeURIComponent(p)}`);

    const crumbs = el("nav", { "aria-label": "Folder", class: "sx-crumbs", "data-testid": "file-breadcrumbs" });
    const upInput = el("input", {
        type: "file", multiple: true, id: `sx-upload-${sid}`, class: "sx-file-input", "data-testid": "file-upload",
    });
    const upLabel = el("label", { for: upInput.id, class: "button sx-upload" }, "Upload…");
    const status = el("span", { class: "muted sx-files-status", role: "status", "aria-live": "polite", "data-testid": "file-status" });
    const list = el("ul", { class: "sx-file-list", "data-testid": "file-list", "aria-label": "Files in the folder" });
    const drop = el("div", { class: "sx-drop" }, list);

    const edPath = el("code", { class: "sx-ed-path", "data-testid": "file-editor-path" });
    const edState = el("span", { class: "muted", "aria-live": "polite", "data-testid": "file-editor-state" });
    const saveBtn = el("button", { type: "button", class: "primary", "data-testid": "file-save", disabled: true }, "Save");
    const closeBtn = el("button", { type: "button", "data-testid": "file-close" }, "Close");
    const edHost = el("div", { class: "sx-ed-host", "data-testid": "file-editor" });
    const edPane = el("section", { class: "sx-ed card", hidden: true, "aria-label": "File editor" },
        el("div", { class: "row sx-ed-head" }, edPath, edState, el("span", { class: "spacer" }), saveBtn, closeBtn),
        edHost,
        el("p", { class: "muted sx-help" }, "Ctrl+S or Ctrl+Enter saves."));

    panel.append(
        el("div", { class: "row sx-files-bar" },
            crumbs, el("span", { class: "spacer" }),
            el("button", { type: "button", "data-testid": "file-up", onclick: () => cd(parentPath(dir)) }, "Up"),
            el("button", { type: "button", "data-testid": "file-refresh", onclick: () => refresh() }, "Refresh"),
            el("button", { type: "button", "data-testid": "file-new-file", onclick: newFile }, "New file"),
            el("button", { type: "button", "data-testid": "file-mkdir", onclick: newFolder }, "New folder"),
            upInput, upLabel),
        status,
        el("div", { class: "sx-files" }, drop, edPane));

    function renderCrumbs() {
        const parts = dir.split("/").filter(Boolean);
        const nodes = [el("button", { type: "button", class: "sx-crumb", onclick: () => cd("/") , "aria-label": "Root folder" }, "/")];
        parts.forEach((p, i) => {
            const path = "/" + parts.slice(0, i + 1).join("/");
            const last = i === parts.length - 1;
            if (i > 0) nodes.push(el("span", { class: "muted", "aria-hidden": "true" }, "/"));
            nodes.push(el("button", {
                type: "button", class: "sx-crumb", onclick: () => cd(path),
                "aria-current": last ? "location" : undefined,
            }, p));
        });
        crumbs.replaceChildren(...nodes);
    }

    function fileRow(e) {
        const isDir = e.type === "dir";
        const path = e.path || joinPath(dir, e.name);
        const name = el("button", {
            type: "button", class: "sx-fname", "data-testid": "file-open",
            title: isDir ? `Open folder ${e.name}` : e.type === "symlink" ? `${e.name} → ${e.symlink_target || "?"}` : `Edit ${e.name}`,
            onclick: () => (isDir ? cd(path) : openFile(path, e.size)),
        }, icon(isDir),
        el("span", { class: "sx-fname-text" }, e.name + (isDir ? "/" : "")));
        return el("li", { class: "sx-file-row", "data-testid": "file-row", "data-name": e.name, "data-type": e.type },
            name,
            el("span", { class: "muted sx-fsize" }, isDir ? "" : formatBytes(e.size)),
            el("span", { class: "muted sx-fdate", title: dateTime(e.modified_at) }, new Date(e.modified_at).toLocaleString()),
            el("span", { class: "sx-factions" },
                isDir ? null : el("button", {
                    type: "button", "data-testid": "file-download", "aria-label": `Download ${e.name}`,
                    onclick: () => download(path),
                }, "Download"),
                el("button", { type: "button", "data-testid": "file-rename", "aria-label": `Rename ${e.name}`, onclick: () => rename(path) }, "Rename"),
                el("button", { type: "button", class: "danger", "data-testid": "file-delete", "aria-label": `Delete ${e.name}`, onclick: () => remove(path, isDir) }, "Delete")));
    }

    async function refresh() {
        const seq = ++loadSeq;
        renderCrumbs();
        try {
            const r = await api("GET", sessionPath(sid, `/files/list?path=${encodeURIComponent(dir)}`));
            if (seq !== loadSeq) return;
            entries = r.entries.sort((a, b) =>
                (b.type === "dir") - (a.type === "dir") || a.name.localeCompare(b.name));
            list.replaceChildren(...entries.map(fileRow));
            if (!entries.length) list.append(el("li", { class: "muted sx-file-empty" }, "This folder is empty. Upload files or drop them here."));
        } catch (e) {
            if (seq === loadSeq) report(e);
        }
    }

    function cd(path) {
        dir = path;
        refresh();
    }

    async function upload(files) {
        if (!files.length) return;
        const fd = new FormData();
        for (const f of files) fd.append("file", f, f.name);
        status.textContent = `Uploading ${files.length} file${files.length > 1 ? "s" : ""}…`;
        try {
            await request("POST", sessionPath(sid, `/files?path=${encodeURIComponent(dir)}`), { body: fd });
            status.textContent = `Uploaded ${[...files].map((f) => f.name).join(", ")}.`;
            clearError();
        } catch (e) {
            status.textContent = "";
            report(e);
        }
        refresh();
    }
    upInput.addEventListener("change", () => {
        const files = [...upInput.files];
        upInput.value = "";
        upload(files);
    });
    drop.addEventListener("dragover", (ev) => { ev.preventDefault(); drop.classList.add("sx-dragging"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("sx-dragging"));
    drop.addEventListener("drop", (ev) => {
        ev.preventDefault();
        drop.classList.remove("sx-dragging");
        upload([...(ev.dataTransfer ? ev.dataTransfer.files : [])]);
    });

    async function download(path) {
        try {
            const r = await request("GET", filesUrl(path));
            const url = URL.createObjectURL(await r.blob());
            const a = el("a", { href: url, download: baseName(path), hidden: true });
            document.body.append(a);
            a.click();
            a.remove();
            setTimeout(() => URL.revokeObjectURL(url), 60000);
        } catch (e) {
            report(e);
        }
    }

    async function newFolder() {
        const name = await askText("New folder", `Name (in ${dir})`, "", "Create");
        if (!name) return;
        try {
            await api("POST", sessionPath(sid, "/files/mkdir"), { json: { path: joinPath(dir, name) } });
        } catch (e) { report(e); }
        refresh();
    }

    async function newFile() {
        const name = await askText("New file", `Name (in ${dir})`, "untitled.txt", "Create");
        if (!name) return;
        const path = joinPath(dir, name);
        try {
            await request("PUT", filesUrl(path), { body: "" });
        } catch (e) { report(e); return; }
        await refresh();
        openFile(path, 0);
    }

    async function rename(path) {
        const to = await askText("Rename", "New name or path", baseName(path), "Rename");
        if (!to || to === baseName(path)) return;
        const dest = joinPath(parentPath(path), to);
        try {
            await api("POST", sessionPath(sid, "/files/move"), { json: { from: path, to: dest } });
            if (openPath === path) { openPath = dest; edPath.textContent = dest; }
        } catch (e) { report(e); }
        refresh();
    }

    async function remove(path, isDir) {
        if (!await confirmDialog(`Delete ${baseName(path)}?`,
            isDir ? `The folder ${path} and everything in it are deleted.` : `${path} is deleted.`)) return;
        try {
            await api("DELETE", filesUrl(path));
            if (openPath && (openPath === path || openPath.startsWith(path + "/"))) closeEditor(true);
        } catch (e) { report(e); }
        refresh();
    }

    // ---- the editor
    function setDirty(d) {
        dirty = d;
        saveBtn.disabled = !openPath;
        edState.textContent = d ? "modified" : "saved";
    }

    async function openFile(path, size) {
        if (dirty && !await confirmDialog("Discard changes?", `${openPath} has unsaved changes.`, "Discard")) return;
        if (size > MAX_EDIT) {
            report(`${baseName(path)} is ${formatBytes(size)}: too large to edit here. Download it instead.`);
            return;
        }
        let text;
        try {
            const buf = await (await request("GET", filesUrl(path))).arrayBuffer();
            text = new TextDecoder("utf-8", { fatal: true }).decode(buf);
            if (text.includes("\0")) throw new TypeError("binary");
        } catch (e) {
            if (e instanceof TypeError) report(`${baseName(path)} is not UTF-8 text: download it instead.`);
            else report(e);
            return;
        }
        openPath = path;
        edPane.hidden = false;
        edPath.textContent = path;
        if (!editor) {
            editor = createEditor(edHost, {
                doc: text, language: languageOf(path), label: "File contents",
                onRun: save, onChange: () => setDirty(true),
            });
            edHost.addEventListener("keydown", (ev) => {
                if ((ev.ctrlKey || ev.metaKey) && ev.key.toLowerCase() === "s") { ev.preventDefault(); save(); }
            });
        } else {
            editor.setLanguage(languageOf(path));
            editor.text = text;
        }
        setDirty(false);
        editor.focus();
    }

    async function save() {
        if (!openPath || !editor) return;
        const path = openPath;
        saveBtn.disabled = true;
        edState.textContent = "saving…";
        try {
            await request("PUT", filesUrl(path), {
                body: editor.text, headers: { "Content-Type": "application/octet-stream" },
            });
            if (path === openPath) setDirty(false);
            refresh();
        } catch (e) {
            setDirty(true);
            report(e);
        }
    }

    async function closeEditor(force) {
        if (!force && dirty && !await confirmDialog("Discard changes?", `${openPath} has unsaved changes.`, "Discard")) return;
        openPath = null;
        dirty = false;
        edPane.hidden = true;
    }
    saveBtn.addEventListener("click", save);
    closeBtn.addEventListener("click", () => closeEditor(false));

    let loaded = false;
    return {
        show() { if (!loaded) { loaded = true; refresh(); } },
        hide() {},
        sandboxChanged() { refresh(); },
        destroy() { loadSeq++; if (editor) editor.destroy(); },
    };
}
