// The console's only script: draws the charts (uPlot, vendored) and follows a function's log (Server-Sent Events).
// Pages work without it; it adds what HTML alone cannot.
"use strict";

const palette = ["#1f6feb", "#2da44e", "#bf8700", "#8250df", "#cf222e", "#57606a", "#0598bc"];

function drawChart(el) {
    const spec = JSON.parse(el.dataset.chart);
    const width = Math.max(480, Math.min(el.parentElement.clientWidth - 16, 900));
    const series = [{ label: spec.time ? "time" : "run" }];
    spec.series.forEach((s, i) => series.push({
        label: s.label,
        stroke: palette[i % palette.length],
        fill: spec.bars ? palette[i % palette.length] + "55" : undefined,
        width: 1.5,
        points: { show: !spec.time || spec.x.length < 80 },
        paths: spec.bars && uPlot.paths.bars ? uPlot.paths.bars({ size: [0.8, 40] }) : undefined,
        spanGaps: false,
    }));
    const data = [spec.x, ...spec.series.map(s => s.values)];
    new uPlot({
        width: width, height: 220,
        scales: { x: { time: !!spec.time } },
        axes: [{}, { label: spec.ylabel }],
        series: series,
    }, data, el);
}

// As LogEntry.ShownTime on the server: UTC to the millisecond, or the text as it came.
function shownTime(text) {
    const t = new Date(text ?? "");
    return isNaN(t) ? (text ?? "") : t.toISOString().replace("T", " ").slice(0, 23) + " UTC";
}

function followLog(status) {
    const table = document.querySelector("#log-table tbody");
    const source = new EventSource(status.dataset.follow);
    // The daemon names its events: `line` for each line, `dropped` when this follower fell too far behind.
    source.addEventListener("line", (event) => {
        let entry;
        try { entry = JSON.parse(event.data); } catch { return; }
        const row = document.createElement("tr");
        row.className = entry.stream || "";
        for (const value of [shownTime(entry.time), entry.invocation_id, entry.path, entry.stream]) {
            const cell = document.createElement("td");
            cell.textContent = value ?? "";
            row.appendChild(cell);
        }
        const text = document.createElement("td");
        const pre = document.createElement("pre");
        pre.textContent = entry.text ?? "";
        text.appendChild(pre);
        row.appendChild(text);
        table.insertBefore(row, table.firstChild);
        status.textContent = "Newest first; following new lines (last at " + new Date().toLocaleTimeString() + ")";
    });
    source.addEventListener("dropped", () => {
        source.close();
        status.textContent = "Not following: this page fell too far behind the log (reload the page to follow again).";
    });
    source.onerror = () => {
        status.textContent = source.readyState === EventSource.CLOSED
            ? "Not following: the log stream ended (reload the page to follow again)."
            : "Reconnecting to the log stream…";
    };
}

document.addEventListener("DOMContentLoaded", () => {
    if (window.uPlot)
        document.querySelectorAll("[data-chart]").forEach(drawChart);
    const status = document.querySelector("[data-follow]");
    if (status && window.EventSource)
        followLog(status);
});
