using System.Globalization;
using Microsoft.AspNetCore.Http;
using static Job.Dashboard.DashboardLayout;

namespace Job.Dashboard;

/// <summary>The overview: counts by state and type, what needs attention, throughput, failures and
/// queue depth over the time the page has been open (refreshed in place), and the latest operator actions.</summary>
internal sealed class OverviewPage(DashboardLayout layout)
{
    /// <summary>Due jobs waiting this long put their type on the overview's attention list (the leader
    /// logs such types after the same minute).</summary>
    private static readonly TimeSpan AttentionAfter = TimeSpan.FromMinutes(1);

    public async Task<IResult> OverviewAsync(HttpContext http, CancellationToken ct)
    {
        var (o, admin, stats) = Services(http);
        var snapshot = await stats.GetAsync(ct).ConfigureAwait(false);
        var actions = await admin.RecentActionsAsync(8, ct).ConfigureAwait(false);
        var html = new Html();
        var now = Now(http);
        layout.Header(html, http, o, "overview", "Overview");
        html.Raw("<h1>Overview <span id=\"live-status\" class=\"badge\">live</span></h1>");
        html.Raw("<section id=\"live\" data-refresh=\"").Raw(((int)o.RefreshInterval.TotalMilliseconds).ToString(CultureInfo.InvariantCulture))
            .Raw("\" data-src=\"").Attr(layout.Root(http) + "/overview/live").Raw("\">");
        Live(html, http, snapshot);
        html.Raw("</section>");
        html.Raw("<h2>Recent operator actions</h2>");
        if (actions.Count == 0)
        {
            html.Raw("<p class=\"muted\">None recorded.</p>");
        }
        else
        {
            html.Raw("<table><tr><th>When</th><th>Action</th><th>Job or type</th><th>Filter</th><th class=\"num\">Changed</th><th>By</th></tr>");
            foreach (var a in actions)
            {
                html.Raw("<tr><td class=\"nowrap\">").When(a.RecordedAt, now).Raw("</td><td>").Text(a.Action).Raw("</td><td class=\"mono\">");
                if (a.JobId is { } id)
                {
                    html.Raw("<a href=\"").Attr($"{layout.Root(http)}/jobs/{id}").Raw("\">").Text(id.ToString()).Raw("</a>");
                }
                else
                {
                    html.Text(a.JobType);
                }

                html.Raw("</td><td>").Text(a.Detail).Raw("</td><td class=\"num\">").Num(a.Changed).Raw("</td><td>").Text(a.Actor).Raw("</td></tr>");
            }

            html.Raw("</table>");
        }

        Footer(html, http);
        return Page(html);
    }

    public async Task<IResult> OverviewLiveAsync(HttpContext http, CancellationToken ct)
    {
        var (_, _, stats) = Services(http);
        var snapshot = await stats.GetAsync(ct).ConfigureAwait(false);
        var html = new Html();
        Live(html, http, snapshot);
        http.Response.Headers.CacheControl = "no-store";
        return Results.Content(html.ToString(), "text/html; charset=utf-8");
    }

    private void Live(Html html, HttpContext http, StatsSnapshot s)
    {
        var counts = s.Counts;
        Attention(html, http, s);
        html.Raw("<div class=\"cards\">");
        foreach (var state in States)
        {
            var name = JobStateNames.Name(state);
            html.Raw("<div class=\"card\"><a href=\"").Attr($"{layout.Root(http)}/jobs?state={name}").Raw("\"><div class=\"label\">").Text(name)
                .Raw("</div><div class=\"value\" data-count=\"").Raw(name).Raw("\">").Num(counts.Total(state)).Raw("</div></a></div>");
        }

        html.Raw("<div class=\"card\"><a href=\"").Attr($"{layout.Root(http)}/jobs?state=pending&sort=due&dir=asc").Raw("\"><div class=\"label\">oldest due waits</div><div class=\"value\" data-lag>")
            .Text(Html.Duration(counts.OldestDueLag)).Raw("</div></a></div>");
        html.Raw("</div>");

        var points = s.History;
        html.Raw("<div class=\"charts\">");
        Chart(html, "Throughput (completed jobs/s)", "throughput", points.Select(p => (p.At, p.Completed / Math.Max(p.Interval.TotalSeconds, 1e-3))).ToList());
        Chart(html, "Failures (jobs ended errored per interval)", "failures", points.Select(p => (p.At, (double)p.Errored)).ToList());
        Chart(html, "Queue depth (pending jobs)", "depth", points.Select(p => (p.At, (double)p.Pending)).ToList());
        html.Raw("</div>");

        html.Raw("<h2>By type</h2><table><tr><th>Type</th>");
        foreach (var state in States)
        {
            html.Raw("<th class=\"num\">").Raw(JobStateNames.Name(state)).Raw("</th>");
        }

        html.Raw("</tr>");
        foreach (var type in counts.ByTypeAndState.Select(c => c.JobType).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            html.Raw("<tr><td><a href=\"").Attr($"{layout.Root(http)}/jobs?type={Html.Url(type)}").Raw("\">").Text(type).Raw("</a></td>");
            foreach (var state in States)
            {
                var n = counts.ByTypeAndState.Where(c => c.JobType == type && c.State == state).Sum(c => c.Count);
                html.Raw("<td class=\"num\">").Num(n).Raw("</td>");
            }

            html.Raw("</tr>");
        }

        html.Raw("</table><p class=\"muted\">Counted at ").Text(Html.Time(counts.At)).Raw(" in ").Text(Html.Duration(s.TakenIn))
            .Raw("; charts cover what this dashboard saw since it was opened.</p>");
    }

    // What an operator woken at night looks for first, each linked to its jobs: types whose due jobs
    // wait (with what may hold them), paused types, and jobs that ended errored while the page was open.
    private void Attention(Html html, HttpContext http, StatsSnapshot s)
    {
        var counts = s.Counts;
        var items = new List<(string Href, string Text)>();
        foreach (var (type, due) in counts.OldestDueByType.OrderBy(kv => kv.Value))
        {
            var waited = counts.At - due;
            if (waited < AttentionAfter)
            {
                continue;
            }

            var pending = counts.ByTypeAndState.Where(c => c.JobType == type && c.State == JobStatus.Pending).Sum(c => c.Count);
            var running = counts.ByTypeAndState.Where(c => c.JobType == type && c.State == JobStatus.Running).Sum(c => c.Count);
            var why = s.PausedTypes.Contains(type) ? "the type is paused"
                : running == 0 ? "none of them runs: does a silo register this type? is a limit holding it?"
                : $"{running:N0} running, the rest wait for a slot";
            items.Add(($"{layout.Root(http)}/jobs?state=pending&type={Html.Url(type)}&sort=due&dir=asc",
                $"{type}: {pending:N0} due job(s), the oldest waiting {Html.Duration(waited)}; {why}"));
        }

        foreach (var type in s.PausedTypes.Where(t => !counts.OldestDueByType.ContainsKey(t)))
        {
            items.Add(($"{layout.Root(http)}/types", $"{type} is paused: no silo claims its jobs until it is resumed"));
        }

        var errored = s.History.Sum(p => p.Errored);
        if (errored > 0)
        {
            items.Add(($"{layout.Root(http)}/jobs?state=errored", $"{errored:N0} job(s) ended errored since {Html.Time(s.History[0].At)}"));
        }

        if (items.Count == 0)
        {
            html.Raw("<p class=\"attention ok\" id=\"attention\">Nothing needs attention: no due job has waited ").Text(Html.Duration(AttentionAfter))
                .Raw(", no type is paused, no job ended errored while this page was open.</p>");
            return;
        }

        html.Raw("<ul class=\"attention\" id=\"attention\">");
        foreach (var (href, text) in items)
        {
            html.Raw("<li><a href=\"").Attr(href).Raw("\">").Text(text).Raw("</a></li>");
        }

        html.Raw("</ul>");
    }

    private static void Chart(Html html, string title, string css, IReadOnlyList<(DateTimeOffset At, double Value)> points)
    {
        const double left = 44, right = 396, top = 10, bottom = 118;
        html.Raw("<div class=\"chart\"><h3>").Text(title).Raw("</h3><svg viewBox=\"0 0 400 140\" role=\"img\" aria-label=\"").Attr(title).Raw("\">");
        html.Raw("<line class=\"axis\" x1=\"44\" y1=\"118\" x2=\"396\" y2=\"118\"/><line class=\"axis\" x1=\"44\" y1=\"10\" x2=\"44\" y2=\"118\"/>");
        if (points.Count < 2)
        {
            html.Raw("<text class=\"empty\" x=\"60\" y=\"70\">collecting… (a point per refresh)</text></svg></div>");
            return;
        }

        var max = Nice(points.Max(p => p.Value));
        var t0 = points[0].At;
        var span = Math.Max((points[^1].At - t0).TotalSeconds, 1e-3);
        var coords = points.Select(p =>
        {
            var x = left + (right - left) * (p.At - t0).TotalSeconds / span;
            var y = bottom - (bottom - top) * (max <= 0 ? 0 : p.Value / max);
            return string.Create(CultureInfo.InvariantCulture, $"{x:0.#},{y:0.#}");
        });
        html.Raw("<polyline class=\"line ").Raw(css).Raw("\" points=\"").Raw(string.Join(' ', coords)).Raw("\"/>");
        html.Raw("<text class=\"tick\" x=\"40\" y=\"14\" text-anchor=\"end\">").Text(max.ToString("0.##", CultureInfo.InvariantCulture)).Raw("</text>");
        html.Raw("<text class=\"tick\" x=\"40\" y=\"118\" text-anchor=\"end\">0</text>");
        html.Raw("<text class=\"tick\" x=\"44\" y=\"134\">").Text(points[0].At.UtcDateTime.ToString("HH:mm:ss'Z'", CultureInfo.InvariantCulture)).Raw("</text>");
        html.Raw("<text class=\"tick\" x=\"396\" y=\"134\" text-anchor=\"end\">").Text(points[^1].At.UtcDateTime.ToString("HH:mm:ss'Z'", CultureInfo.InvariantCulture)).Raw("</text>");
        html.Raw("</svg></div>");
    }

    private static double Nice(double max)
    {
        if (max <= 0)
        {
            return 1;
        }

        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(max)));
        foreach (var step in new[] { 1, 2, 2.5, 5, 10 })
        {
            if (step * magnitude >= max)
            {
                return step * magnitude;
            }
        }

        return 10 * magnitude;
    }
}
