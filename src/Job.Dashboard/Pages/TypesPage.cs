using System.Globalization;
using Microsoft.AspNetCore.Http;
using static Job.Dashboard.DashboardLayout;

namespace Job.Dashboard;

/// <summary>The job types: counts by state, recent throughput, limits, and pause or resume.</summary>
internal sealed class TypesPage(DashboardLayout layout)
{
    public async Task<IResult> TypesAsync(HttpContext http, CancellationToken ct)
    {
        var (o, admin, stats) = Services(http);
        var snapshot = await stats.GetAsync(ct).ConfigureAwait(false);
        var settings = (await admin.TypeSettingsAsync(ct).ConfigureAwait(false)).ToDictionary(t => t.JobType.Name, StringComparer.Ordinal);
        var mayAct = await DashboardForms.MayActAsync(http, o).ConfigureAwait(false);
        var html = new Html();
        layout.Header(html, http, o, "types", "Types");
        html.Raw("<h1>Types</h1><table id=\"types\"><tr><th>Type</th><th>Status</th><th class=\"num\">pending</th><th class=\"num\">scheduled</th><th class=\"num\">running</th><th class=\"num\">completed</th><th class=\"num\">errored</th><th class=\"num\">cancelled</th><th class=\"num\">completed/min (5 min)</th><th>Limits</th>");
        if (mayAct)
        {
            html.Raw("<th></th>");
        }

        html.Raw("</tr>");
        var types = snapshot.Counts.ByTypeAndState.Select(c => c.JobType).Concat(settings.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        foreach (var type in types)
        {
            var paused = settings.TryGetValue(type, out var st) && st.Paused;
            html.Raw("<tr data-type=\"").Attr(type).Raw("\"><td><a href=\"").Attr($"{layout.Root(http)}/jobs?type={Html.Url(type)}").Raw("\">").Text(type).Raw("</a></td><td>")
                .Raw(paused ? "<span class=\"badge warn\" data-paused>paused</span>" : "<span class=\"badge ok\">running</span>").Raw("</td>");
            foreach (var state in States)
            {
                html.Raw("<td class=\"num\">").Num(snapshot.Counts.ByTypeAndState.Where(c => c.JobType == type && c.State == state).Sum(c => c.Count)).Raw("</td>");
            }

            html.Raw("<td class=\"num\">").Text(snapshot.CompletedPerMinuteByType.GetValueOrDefault(type).ToString("0.#", CultureInfo.InvariantCulture)).Raw("</td><td>");
            if (st is not null)
            {
                var limits = new List<string>();
                if (st.MaxRunning is { } max)
                {
                    limits.Add($"≤ {max} running");
                }

                if (st.RateLimit is { } rate)
                {
                    limits.Add($"≤ {rate.Starts} starts / {Html.Duration(rate.Period)}");
                }

                html.Text(limits.Count == 0 ? "—" : string.Join(", ", limits));
                if (st.UpdatedBy is { } by)
                {
                    html.Raw("<div class=\"muted\">changed by ").Text(by).Raw(" at ").Text(Html.Time(st.UpdatedAt)).Raw("</div>");
                }
            }
            else
            {
                html.Raw("—");
            }

            html.Raw("</td>");
            if (mayAct)
            {
                html.Raw("<td>");
                var action = paused ? "resume" : "pause";
                ActionButton(html, http, $"{layout.Root(http)}/types/{Html.Url(type)}/{action}", layout.Root(http) + "/types", paused ? "Resume" : "Pause", action,
                    paused ? null : $"Pause {type}? No silo claims its jobs until resumed; running ones finish.", paused ? "primary" : "");
                html.Raw("</td>");
            }

            html.Raw("</tr>");
        }

        html.Raw("</table>");
        Footer(html, http);
        return Page(html);
    }
}
