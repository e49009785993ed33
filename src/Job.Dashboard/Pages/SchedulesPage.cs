using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using static Job.Dashboard.DashboardLayout;

namespace Job.Dashboard;

/// <summary>The recurring schedules, each with its latest ticks, and pause, resume or remove.</summary>
internal sealed class SchedulesPage(DashboardLayout layout)
{
    /// <summary>The latest ticks the schedules page shows per schedule.</summary>
    private const int TicksShown = 5;

    /// <summary>The recurring schedules (<see cref="JobSchedules"/>), each with its latest ticks.</summary>
    public async Task<IResult> SchedulesAsync(HttpContext http, CancellationToken ct)
    {
        var (o, _, _) = Services(http);
        var schedules = http.RequestServices.GetRequiredService<JobSchedules>();
        var list = await schedules.ListAsync(ct).ConfigureAwait(false);
        var mayAct = await DashboardForms.MayActAsync(http, o).ConfigureAwait(false);
        var root = layout.Root(http);
        var html = new Html();
        var now = Now(http);
        layout.Header(html, http, o, "schedules", "Schedules");
        html.Raw("<h1>Schedules</h1><table id=\"schedules\"><tr><th>Name</th><th>Job type</th><th>Cron</th><th>Time zone</th><th>Next tick</th><th>Status</th><th>Last ticks</th>");
        if (mayAct)
        {
            html.Raw("<th></th>");
        }

        html.Raw("</tr>");
        foreach (var s in list)
        {
            // One small indexed read per schedule: the list is as long as the schedules an application declares.
            var ticks = await schedules.TicksAsync(s.Name, TicksShown, ct).ConfigureAwait(false);
            html.Raw("<tr data-schedule=\"").Attr(s.Name).Raw("\"><td><span class=\"mono\">").Text(s.Name)
                .Raw("</span><div class=\"muted\">").Raw(s.DeclaredInCode ? "declared in code" : "created at run time").Raw("</div></td><td><a href=\"")
                .Attr($"{root}/jobs?type={Html.Url(s.JobType.Name)}").Raw("\">").Text(s.JobType.Name).Raw("</a></td><td class=\"mono nowrap\">").Text(s.Cron)
                .Raw("</td><td>").Text(s.TimeZone).Raw("</td><td class=\"nowrap\">").When(s.Paused ? null : s.NextTick, now).Raw("</td><td>")
                .Raw(s.Paused ? "<span class=\"badge warn\" data-paused>paused</span>" : "<span class=\"badge ok\">running</span>");
            if (s.UpdatedBy is { } by)
            {
                html.Raw("<div class=\"muted\">changed by ").Text(by).Raw(" at ").Text(Html.Time(s.UpdatedAt)).Raw("</div>");
            }

            html.Raw("</td><td>");
            if (ticks.Count == 0)
            {
                html.Raw("<span class=\"muted\">none yet</span>");
            }

            foreach (var t in ticks)
            {
                html.Raw("<div class=\"nowrap\" data-tick=\"").Raw(t.Outcome == JobScheduleTickOutcome.Spawned ? "spawned" : "skipped").Raw("\">").When(t.Tick, now).Raw(" ");
                if (t.JobId is { } id)
                {
                    html.Raw("<a class=\"mono\" href=\"").Attr($"{root}/jobs/{id}").Raw("\">").Text(id.ToString()).Raw("</a>");
                }
                else
                {
                    html.Raw("<span class=\"muted\">skipped: the previous tick's job had not ended</span>");
                }

                html.Raw("</div>");
            }

            html.Raw("</td>");
            if (mayAct)
            {
                html.Raw("<td><div class=\"actions\">");
                var field = ("name", s.Name);
                var back = root + "/schedules";
                if (s.Paused)
                {
                    ActionButton(html, http, back + "/resume", back, "Resume", "resume", null, "primary", field);
                }
                else
                {
                    ActionButton(html, http, back + "/pause", back, "Pause", "pause", $"Pause schedule {s.Name}? Its ticks spawn no job until it is resumed.", "", field);
                }

                ActionButton(html, http, back + "/remove", back, "Remove", "remove", $"Remove schedule {s.Name}? No tick of it fires any more.", "danger", field);
                html.Raw("</div></td>");
            }

            html.Raw("</tr>");
        }

        html.Raw("</table>");
        if (list.Count == 0)
        {
            html.Raw("<p class=\"muted\" data-empty>No schedule. Declare one in code (AddRecurringJob) or create one at run time (JobSchedules.SetAsync, Job.Silo schedules set).</p>");
        }

        Footer(html, http);
        return Page(html);
    }
}
