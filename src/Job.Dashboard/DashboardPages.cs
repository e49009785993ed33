using System.Globalization;
using System.Text.Json;
using Job.Common;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Job.Dashboard;

/// <summary>
/// The dashboard's pages, rendered on the server from <see cref="JobAdmin"/> and the shared counts
/// (<see cref="DashboardStats"/>): plain HTML and SVG, one stylesheet and one small script from the
/// assembly. Each list is a keyset page of an index range, so no page reads a big table whole.
/// </summary>
internal sealed class DashboardPages(string prefix)
{
    private static readonly JsonSerializerOptions s_pretty = new() { WriteIndented = true };

    /// <summary>The latest ticks the schedules page shows per schedule.</summary>
    private const int TicksShown = 5;
    private static readonly JobStatus[] s_states = [JobStatus.Pending, JobStatus.Scheduled, JobStatus.Running, JobStatus.Completed, JobStatus.Errored, JobStatus.Cancelled];

    // ---------------------------------------------------------------- overview

    /// <summary>Due jobs waiting this long put their type on the overview's attention list (the leader
    /// logs such types after the same minute).</summary>
    private static readonly TimeSpan AttentionAfter = TimeSpan.FromMinutes(1);

    public async Task<IResult> OverviewAsync(HttpContext http, CancellationToken ct)
    {
        var (o, admin, stats) = Services(http);
        var snapshot = await stats.GetAsync(ct).ConfigureAwait(false);
        var actions = await admin.RecentActionsAsync(8, ct).ConfigureAwait(false);
        var html = new Html();
        Header(html, http, o, "overview", "Overview");
        html.Raw("<h1>Overview <span id=\"live-status\" class=\"badge\">live</span></h1>");
        html.Raw("<section id=\"live\" data-refresh=\"").Raw(((int)o.RefreshInterval.TotalMilliseconds).ToString(CultureInfo.InvariantCulture))
            .Raw("\" data-src=\"").Attr(Root(http) + "/overview/live").Raw("\">");
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
                html.Raw("<tr><td>").Text(Html.Time(a.RecordedAt)).Raw("</td><td>").Text(a.Action).Raw("</td><td class=\"mono\">");
                if (a.JobId is { } id)
                {
                    html.Raw("<a href=\"").Attr($"{Root(http)}/jobs/{id}").Raw("\">").Text(id.ToString()).Raw("</a>");
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
        foreach (var state in s_states)
        {
            var name = StateName(state);
            html.Raw("<div class=\"card\"><a href=\"").Attr($"{Root(http)}/jobs?state={name}").Raw("\"><div class=\"label\">").Text(name)
                .Raw("</div><div class=\"value\" data-count=\"").Raw(name).Raw("\">").Num(counts.Total(state)).Raw("</div></a></div>");
        }

        html.Raw("<div class=\"card\"><a href=\"").Attr($"{Root(http)}/jobs?state=pending&sort=due&dir=asc").Raw("\"><div class=\"label\">oldest due waits</div><div class=\"value\" data-lag>")
            .Text(Html.Duration(counts.OldestDueLag)).Raw("</div></a></div>");
        html.Raw("</div>");

        var points = s.History;
        html.Raw("<div class=\"charts\">");
        Chart(html, "Throughput (completed jobs/s)", "throughput", points.Select(p => (p.At, p.Completed / Math.Max(p.Interval.TotalSeconds, 1e-3))).ToList());
        Chart(html, "Failures (jobs ended errored per interval)", "failures", points.Select(p => (p.At, (double)p.Errored)).ToList());
        Chart(html, "Queue depth (pending jobs)", "depth", points.Select(p => (p.At, (double)p.Pending)).ToList());
        html.Raw("</div>");

        html.Raw("<h2>By type</h2><table><tr><th>Type</th>");
        foreach (var state in s_states)
        {
            html.Raw("<th class=\"num\">").Raw(StateName(state)).Raw("</th>");
        }

        html.Raw("</tr>");
        foreach (var type in counts.ByTypeAndState.Select(c => c.JobType).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            html.Raw("<tr><td><a href=\"").Attr($"{Root(http)}/jobs?type={Html.Url(type)}").Raw("\">").Text(type).Raw("</a></td>");
            foreach (var state in s_states)
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
            items.Add(($"{Root(http)}/jobs?state=pending&type={Html.Url(type)}&sort=due&dir=asc",
                $"{type}: {pending:N0} due job(s), the oldest waiting {Html.Duration(waited)}; {why}"));
        }

        foreach (var type in s.PausedTypes.Where(t => !counts.OldestDueByType.ContainsKey(t)))
        {
            items.Add(($"{Root(http)}/types", $"{type} is paused: no silo claims its jobs until it is resumed"));
        }

        var errored = s.History.Sum(p => p.Errored);
        if (errored > 0)
        {
            items.Add(($"{Root(http)}/jobs?state=errored", $"{errored:N0} job(s) ended errored since {Html.Time(s.History[0].At)}"));
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

    // ---------------------------------------------------------------- jobs

    public async Task<IResult> JobsAsync(HttpContext http, CancellationToken ct)
    {
        var (o, admin, stats) = Services(http);
        var q = http.Request.Query;
        var mayAct = await DashboardForms.MayActAsync(http, o).ConfigureAwait(false);
        var html = new Html();
        Header(html, http, o, "jobs", "Jobs");
        html.Raw("<h1>Jobs</h1>");
        JobListQuery? query = null;
        string? problem = null;
        try
        {
            query = ParseQuery(q);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException)
        {
            problem = InputErrorText.Of(ex);
        }

        var filter = query?.Filter ?? JobFilter.All;
        var snapshot = await stats.GetAsync(ct).ConfigureAwait(false);
        Filters(html, http, q, snapshot);
        JobListPage? page = null;
        if (query is not null)
        {
            try
            {
                page = await admin.ListAsync(query, ct).ConfigureAwait(false);
            }
            catch (ArgumentException ex)
            {
                problem = InputErrorText.Of(ex);
            }
        }

        if (problem is not null)
        {
            html.Raw("<div class=\"notice error\">").Text(problem).Raw("</div>");
        }

        if (page is not null)
        {
            var here = http.Request.PathBase.Value + http.Request.Path.Value + http.Request.QueryString.Value;
            if (mayAct)
            {
                html.Raw("<form method=\"post\" action=\"").Attr(Root(http) + "/jobs/bulk").Raw("\">");
                Token(html, http);
                html.Raw("<input type=\"hidden\" name=\"return\" value=\"").Attr(here).Raw("\">");
                html.Raw("<div class=\"actions\"><span class=\"muted\">Selected:</span>")
                    .Raw("<button name=\"action\" value=\"retry\">Retry</button>")
                    .Raw("<button name=\"action\" value=\"cancel\" data-confirm=\"Cancel the selected jobs?\">Cancel</button>")
                    .Raw("<button name=\"action\" value=\"delete\" class=\"danger\" data-confirm=\"Delete the selected finished jobs and their history?\">Delete</button></div>");
            }

            html.Raw("<table id=\"jobs\"><tr>");
            if (mayAct)
            {
                html.Raw("<th><input type=\"checkbox\" data-select-all aria-label=\"select all\"></th>");
            }

            var timeTitle = page.Sort switch
            {
                JobSort.FinishedAt => "Finished",
                JobSort.DueAt => "Due",
                _ => "Created",
            };
            html.Raw("<th>Id</th><th>Type</th><th>State</th><th class=\"num\">Attempt</th><th>Queue</th><th>").Raw(timeTitle).Raw("</th><th>Last error</th></tr>");
            foreach (var job in page.Jobs)
            {
                html.Raw("<tr data-job=\"").Raw(job.Id.ToString()).Raw("\">");
                if (mayAct)
                {
                    html.Raw("<td><input type=\"checkbox\" name=\"ids\" value=\"").Raw(job.Id.ToString()).Raw("\" aria-label=\"select\"></td>");
                }

                var at = page.Sort switch
                {
                    JobSort.FinishedAt => job.FinishedAt,
                    JobSort.DueAt => job.DueAt,
                    _ => job.CreatedAt,
                };
                html.Raw("<td class=\"mono\"><a href=\"").Attr($"{Root(http)}/jobs/{job.Id}").Raw("\">").Text(job.Id.ToString()).Raw("</a></td><td>").Text(job.JobType).Raw("</td><td>");
                State(html, job.Status, job.Parked);
                html.Raw("</td><td class=\"num\">").Text(job.Attempt?.ToString(CultureInfo.InvariantCulture) ?? "—").Raw("</td><td>").Text(job.QueueId)
                    .Raw("</td><td>").Text(Html.Time(at)).Raw("</td><td class=\"error\" title=\"").Attr(job.LastError).Raw("\">").Text(job.LastError).Raw("</td></tr>");
            }

            html.Raw("</table>");
            if (page.Jobs.Count == 0)
            {
                html.Raw("<p class=\"muted\" data-empty>No job matches.</p>");
            }

            if (mayAct)
            {
                html.Raw("</form>");
            }

            html.Raw("<div class=\"pager\">");
            if (query!.Cursor is not null)
            {
                html.Raw("<a href=\"").Attr(WithQuery(http, q, "after", null)).Raw("\">« first page</a>");
            }

            if (page.NextCursor is { } next)
            {
                html.Raw("<a rel=\"next\" href=\"").Attr(WithQuery(http, q, "after", next)).Raw("\">next page »</a>");
            }

            html.Raw("</div>");
            if (mayAct)
            {
                html.Raw("<h2>Everything this filter matches</h2><form method=\"post\" class=\"actions\" action=\"").Attr(Root(http) + "/jobs/bulk-filter").Raw("\">");
                Token(html, http);
                html.Raw("<input type=\"hidden\" name=\"return\" value=\"").Attr(here).Raw("\">");
                foreach (var key in new[] { "state", "type", "queue", "id", "from", "to" })
                {
                    if (q[key].ToString() is { Length: > 0 } value)
                    {
                        html.Raw("<input type=\"hidden\" name=\"").Raw(key).Raw("\" value=\"").Attr(value).Raw("\">");
                    }
                }

                // Only what applies to the filter's state: a running or completed job cannot be retried,
                // a finished one cancelled, a live one deleted.
                var state = filter.State;
                html.Raw("<span class=\"muted\">").Text(JobAdmin.Describe(filter)).Raw(" (up to ").Num(JobAdmin.MaxBulk).Raw(" per click):</span>");
                if (state is not (JobStatus.Running or JobStatus.Completed))
                {
                    html.Raw("<button name=\"action\" value=\"retry\" data-bulk=\"retry\" data-confirm=\"Retry every job this filter matches?\">Retry all</button>");
                }

                if (state is null or JobStatus.Pending or JobStatus.Scheduled or JobStatus.Running)
                {
                    html.Raw("<button name=\"action\" value=\"cancel\" data-bulk=\"cancel\" data-confirm=\"Cancel every job this filter matches?\">Cancel all</button>");
                }

                if (state is null or JobStatus.Completed or JobStatus.Errored or JobStatus.Cancelled)
                {
                    html.Raw("<button name=\"action\" value=\"delete\" data-bulk=\"delete\" class=\"danger\" data-confirm=\"Delete every finished job this filter matches, with its history?\">Delete all</button>");
                }

                html.Raw("</form>");
            }
        }

        Footer(html, http);
        return Page(html);
    }

    private void Filters(Html html, HttpContext http, IQueryCollection q, StatsSnapshot snapshot)
    {
        html.Raw("<form class=\"filters\" method=\"get\" action=\"").Attr(Root(http) + "/jobs").Raw("\">");
        html.Raw("<label>State<select name=\"state\"><option value=\"\">every state</option>");
        foreach (var state in s_states)
        {
            var name = StateName(state);
            html.Raw("<option value=\"").Raw(name).Raw(q["state"] == name ? "\" selected>" : "\">").Raw(name).Raw("</option>");
        }

        html.Raw("</select></label>");
        html.Raw("<label>Type<input name=\"type\" list=\"job-types\" value=\"").Attr(q["type"]).Raw("\"></label><datalist id=\"job-types\">");
        foreach (var type in snapshot.Counts.ByTypeAndState.Select(c => c.JobType).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            html.Raw("<option value=\"").Attr(type).Raw("\">");
        }

        html.Raw("</datalist>");
        html.Raw("<label>Queue<input name=\"queue\" value=\"").Attr(q["queue"]).Raw("\"></label>");
        html.Raw("<label>Id starts with<input name=\"id\" class=\"mono\" size=\"12\" value=\"").Attr(q["id"]).Raw("\"></label>");
        html.Raw("<label>From (UTC)<input type=\"datetime-local\" step=\"1\" name=\"from\" value=\"").Attr(q["from"]).Raw("\"></label>");
        html.Raw("<label>To (UTC)<input type=\"datetime-local\" step=\"1\" name=\"to\" value=\"").Attr(q["to"]).Raw("\"></label>");
        html.Raw("<label>Sort<select name=\"sort\">");
        foreach (var (value, text) in new[] { ("", "natural"), ("created", "created"), ("due", "due"), ("finished", "finished") })
        {
            html.Raw("<option value=\"").Raw(value).Raw(q["sort"] == value ? "\" selected>" : "\">").Raw(text).Raw("</option>");
        }

        html.Raw("</select></label><label>Order<select name=\"dir\">")
            .Raw(q["dir"] == "asc" ? "<option value=\"desc\">newest first</option><option value=\"asc\" selected>oldest first</option>" : "<option value=\"desc\" selected>newest first</option><option value=\"asc\">oldest first</option>")
            .Raw("</select></label><button class=\"primary\" type=\"submit\">Filter</button><a href=\"").Attr(Root(http) + "/jobs").Raw("\">clear</a></form>");
    }

    internal static JobListQuery ParseQuery(IQueryCollection q)
    {
        static string? Value(IQueryCollection q, string key) => q[key].ToString() is { Length: > 0 } v ? v.Trim() : null;
        JobStatus? state = Value(q, "state") switch
        {
            null => null,
            "pending" => JobStatus.Pending,
            "scheduled" => JobStatus.Scheduled,
            "running" => JobStatus.Running,
            "completed" => JobStatus.Completed,
            "errored" => JobStatus.Errored,
            "cancelled" => JobStatus.Cancelled,
            var other => throw new ArgumentException($"'{other}' is not a state: pending, scheduled, running, completed, errored or cancelled."),
        };
        var sort = Value(q, "sort") switch
        {
            null => JobSort.Default,
            "created" => JobSort.CreatedAt,
            "due" => JobSort.DueAt,
            "finished" => JobSort.FinishedAt,
            var other => throw new ArgumentException($"'{other}' is not an order: created, due or finished."),
        };
        var size = Value(q, "size") is { } s ? int.Parse(s, NumberStyles.None, CultureInfo.InvariantCulture) : 50;
        return new JobListQuery
        {
            Filter = new JobFilter
            {
                State = state,
                JobType = Value(q, "type"),
                QueueId = Value(q, "queue"),
                IdPrefix = Value(q, "id"),
                From = Time(Value(q, "from"), "from"),
                To = Time(Value(q, "to"), "to"),
            },
            Sort = sort,
            Descending = Value(q, "dir") != "asc",
            PageSize = size,
            Cursor = Value(q, "after"),
        };
    }

    private static DateTimeOffset? Time(string? text, string name) =>
        text is null ? null
        : DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t)
            ? new DateTimeOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc))
            : throw new ArgumentException($"'{name}' is not a date and time (UTC), such as 2026-01-31T13:45.");

    private string WithQuery(HttpContext http, IQueryCollection q, string key, string? value)
    {
        var pairs = q.Where(kv => kv.Key != key && kv.Key is not ("notice" or "error"))
            .SelectMany(kv => kv.Value.Select(v => new KeyValuePair<string, string?>(kv.Key, v)))
            .ToList();
        if (value is not null)
        {
            pairs.Add(new(key, value));
        }

        return Microsoft.AspNetCore.WebUtilities.QueryHelpers.AddQueryString(Root(http) + "/jobs", pairs);
    }

    // ---------------------------------------------------------------- one job

    public async Task<IResult> JobAsync(Guid id, HttpContext http, CancellationToken ct)
    {
        var (o, admin, _) = Services(http);
        var before = HistoryBefore(http.Request.Query["before"]);
        JobDetails details;
        JobDetails newest;
        try
        {
            details = await admin.GetAsync(id, new JobHistoryWindow(HistoryPageSize, before), ct).ConfigureAwait(false);
            // The facts read the newest events (a finished job's attempt is its last event's).
            newest = before is null ? details : await admin.GetAsync(id, new JobHistoryWindow(HistoryPageSize), ct).ConfigureAwait(false);
        }
        catch (JobNotFoundException)
        {
            var missing = new Html();
            Header(missing, http, o, "jobs", "Job not found");
            missing.Raw("<h1>Job not found</h1><p>No job has the id <span class=\"mono\">").Text(id.ToString()).Raw("</span> (deleted, or pruned by history retention).</p>");
            Footer(missing, http);
            return Page(missing, 404);
        }

        var s = details.Snapshot;
        var mayAct = await DashboardForms.MayActAsync(http, o).ConfigureAwait(false);
        var html = new Html();
        Header(html, http, o, "jobs", $"Job {id}");
        html.Raw("<h1>Job <span class=\"mono\">").Text(id.ToString()).Raw("</span> ");
        State(html, s.Status, details.Parked);
        html.Raw("</h1>");
        if (mayAct)
        {
            var here = http.Request.PathBase.Value + http.Request.Path.Value;
            html.Raw("<div class=\"actions\">");
            var retryable = s.Status is JobStatus.Errored or JobStatus.Cancelled or JobStatus.Pending or JobStatus.Scheduled;
            if (retryable)
            {
                ActionButton(html, http, $"{Root(http)}/jobs/{id}/retry", here, "Retry now", "retry", null, "primary");
            }

            if (!s.IsTerminal)
            {
                ActionButton(html, http, $"{Root(http)}/jobs/{id}/cancel", here, s.Status == JobStatus.Running ? "Cancel (stop the run)" : "Cancel", "cancel", "Cancel this job?", "");
            }

            if (s.IsTerminal)
            {
                ActionButton(html, http, $"{Root(http)}/jobs/{id}/delete", here, "Delete", "delete", "Delete this job and its history?", "danger");
            }

            html.Raw("</div>");
        }

        html.Raw("<dl class=\"facts\">");
        Fact(html, "Type", s.JobType);
        Fact(html, "State", StateName(s.Status) + (details.Parked ? " (parked: waiting for its turn in its queue)" : "") + (details.CancelRequestedAt is { } cr ? $" — cancel requested {Html.Time(cr)}" : ""));
        // A finished job keeps no attempt counter; its history has the attempt it ended in.
        var shownAttempt = s.IsTerminal ? newest.History.Max(e => e.Attempt) : s.Attempt;
        Fact(html, "Attempt", shownAttempt?.ToString(CultureInfo.InvariantCulture) ?? "—");
        Fact(html, "Next run", Html.Time(s.NextRunAt));
        Fact(html, "Queue", s.QueueId ?? "—");
        Fact(html, "Priority", details.Priority.ToString(CultureInfo.InvariantCulture));
        Fact(html, "Created", Html.Time(s.CreatedAt));
        Fact(html, "Finished", Html.Time(s.FinishedAt));
        if (details.ClaimedBy is { } silo)
        {
            Fact(html, "Running on", silo);
            Fact(html, "Run started", Html.Time(details.StartedAt));
            Fact(html, "Last heartbeat", Html.Time(details.AliveAt));
        }

        Fact(html, "Trace id", TraceId(details.TraceParent) ?? "—");
        Fact(html, "Unique job of its type", details.Unique ? "yes" : "no");
        if (s.LastError is { } error)
        {
            html.Raw("<dt>Last error</dt><dd class=\"error-text\">").Text(error).Raw("</dd>");
        }

        html.Raw("</dl>");
        html.Raw("<h2>Config</h2><pre class=\"mono\" id=\"config\">").Text(Pretty(s.ConfigJson)).Raw("</pre>");
        if (details.ExecutionStateJson is { } state)
        {
            html.Raw("<h2>Execution state</h2><pre class=\"mono\">").Text(Pretty(state)).Raw("</pre>");
        }

        html.Raw("<h2>History</h2>");
        HistoryNavigation(html, http, id, details, before);
        html.Raw("<ol class=\"timeline\" id=\"history\">");
        foreach (var e in details.History)
        {
            var css = e.ErrorMessage is not null || e.Type == JobEventTypes.JobErrored ? "error" : e.Type is JobEventTypes.JobCompleted or JobEventTypes.ExecutionCompleted ? "done" : "";
            html.Raw("<li class=\"").Raw(css).Raw("\" data-event=\"").Attr(e.Type).Raw("\"><div class=\"when\">").Text(Html.Time(e.RecordedAt));
            if (e.Attempt is { } attempt)
            {
                html.Raw(" · attempt ").Text(attempt.ToString(CultureInfo.InvariantCulture));
            }

            if (e.ScheduledAt is { } at)
            {
                html.Raw(" · due ").Text(Html.Time(at));
            }

            html.Raw("</div><div class=\"what\">").Text(e.Type.Replace('_', ' ')).Raw("</div>");
            if (e.ErrorMessage is not null || e.ErrorType is not null)
            {
                html.Raw("<div class=\"err\">").Text(e.ErrorType is null ? "" : e.ErrorType + ": ").Text(e.ErrorMessage).Raw("</div>");
            }

            if (e.ErrorDetail is not null)
            {
                html.Raw("<details class=\"stack\"><summary>stack trace</summary><pre class=\"mono\">").Text(e.ErrorDetail).Raw("</pre></details>");
            }

            if (e.Reason is not null)
            {
                html.Raw("<div class=\"muted\">").Text(e.Reason).Raw("</div>");
            }

            if (e.Actor is not null && e.Reason?.EndsWith("by " + e.Actor, StringComparison.Ordinal) != true)
            {
                html.Raw("<div class=\"muted\">by ").Text(e.Actor).Raw("</div>"); // unless the reason already says who
            }

            html.Raw("</li>");
        }

        html.Raw("</ol>");
        if (details.History.Count > 20)
        {
            HistoryNavigation(html, http, id, details, before);
        }

        Footer(html, http);
        return Page(html);
    }

    /// <summary>Events per page of a job's history: a job that reschedules itself every few seconds
    /// holds tens of thousands a day, so its page shows the newest and pages back.</summary>
    internal const int HistoryPageSize = 200;

    /// <summary>The <c>before</c> of a job page's query: an event number, or null (the newest events)
    /// when absent or not a positive number.</summary>
    private static long? HistoryBefore(string? value) =>
        long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var before) && before > 0 ? before : null;

    /// <summary>Which events of how many the page shows, and links to older and to the newest.</summary>
    private void HistoryNavigation(Html html, HttpContext http, JobId id, JobDetails details, long? before)
    {
        if (!details.EarlierHistory && before is null)
        {
            return;
        }

        var page = $"{Root(http)}/jobs/{id}";
        html.Raw("<p class=\"history-nav muted\">").Num(details.History.Count).Raw(before is null ? " newest" : "")
            .Raw(" of ").Num(details.HistoryTotal).Raw(" events");
        if (details.EarlierHistory && details.History.Count > 0)
        {
            html.Raw(" · <a rel=\"prev\" data-history=\"older\" href=\"").Attr($"{page}?before={details.History[0].Sequence.ToString(CultureInfo.InvariantCulture)}").Raw("\">« older events</a>");
        }

        if (before is not null)
        {
            html.Raw(" · <a data-history=\"newest\" href=\"").Attr(page).Raw("\">newest events »</a>");
        }

        html.Raw("</p>");
    }

    private static string? TraceId(string? traceParent)
    {
        var parts = traceParent?.Split('-');
        return parts is { Length: 4 } && parts[1].Length == 32 ? parts[1] : traceParent;
    }

    private static string Pretty(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            return JsonSerializer.Serialize(doc.RootElement, s_pretty);
        }
        catch (JsonException)
        {
            return json;
        }
    }

    private static void Fact(Html html, string name, string value) => html.Raw("<dt>").Text(name).Raw("</dt><dd>").Text(value).Raw("</dd>");

    private static void ActionButton(Html html, HttpContext http, string action, string returnTo, string text, string name, string? confirm, string css,
        (string Name, string Value)? field = null)
    {
        html.Raw("<form method=\"post\" class=\"inline\" action=\"").Attr(action).Raw("\">");
        Token(html, http);
        if (field is { } f)
        {
            html.Raw("<input type=\"hidden\" name=\"").Attr(f.Name).Raw("\" value=\"").Attr(f.Value).Raw("\">");
        }

        html.Raw("<input type=\"hidden\" name=\"return\" value=\"").Attr(returnTo).Raw("\"><button type=\"submit\" data-action=\"").Raw(name).Raw("\" class=\"").Raw(css).Raw("\"");
        if (confirm is not null)
        {
            html.Raw(" data-confirm=\"").Attr(confirm).Raw("\"");
        }

        html.Raw(">").Text(text).Raw("</button></form>");
    }

    // ---------------------------------------------------------------- types and silos

    public async Task<IResult> TypesAsync(HttpContext http, CancellationToken ct)
    {
        var (o, admin, stats) = Services(http);
        var snapshot = await stats.GetAsync(ct).ConfigureAwait(false);
        var settings = (await admin.TypeSettingsAsync(ct).ConfigureAwait(false)).ToDictionary(t => t.JobType.Name, StringComparer.Ordinal);
        var mayAct = await DashboardForms.MayActAsync(http, o).ConfigureAwait(false);
        var html = new Html();
        Header(html, http, o, "types", "Types");
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
            html.Raw("<tr data-type=\"").Attr(type).Raw("\"><td><a href=\"").Attr($"{Root(http)}/jobs?type={Html.Url(type)}").Raw("\">").Text(type).Raw("</a></td><td>")
                .Raw(paused ? "<span class=\"badge warn\" data-paused>paused</span>" : "<span class=\"badge ok\">running</span>").Raw("</td>");
            foreach (var state in s_states)
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
                ActionButton(html, http, $"{Root(http)}/types/{Html.Url(type)}/{action}", Root(http) + "/types", paused ? "Resume" : "Pause", action,
                    paused ? null : $"Pause {type}? No silo claims its jobs until resumed; running ones finish.", paused ? "primary" : "");
                html.Raw("</td>");
            }

            html.Raw("</tr>");
        }

        html.Raw("</table>");
        Footer(html, http);
        return Page(html);
    }

    // ---------------------------------------------------------------- schedules

    /// <summary>The recurring schedules (<see cref="JobSchedules"/>), each with its latest ticks.</summary>
    public async Task<IResult> SchedulesAsync(HttpContext http, CancellationToken ct)
    {
        var (o, _, _) = Services(http);
        var schedules = http.RequestServices.GetRequiredService<JobSchedules>();
        var list = await schedules.ListAsync(ct).ConfigureAwait(false);
        var mayAct = await DashboardForms.MayActAsync(http, o).ConfigureAwait(false);
        var root = Root(http);
        var html = new Html();
        Header(html, http, o, "schedules", "Schedules");
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
                .Raw("</td><td>").Text(s.TimeZone).Raw("</td><td class=\"nowrap\">").Text(s.Paused ? "—" : Html.Time(s.NextTick)).Raw("</td><td>")
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
                html.Raw("<div class=\"nowrap\" data-tick=\"").Raw(t.Outcome == JobScheduleTickOutcome.Spawned ? "spawned" : "skipped").Raw("\">").Text(Html.Time(t.Tick)).Raw(" ");
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

    public async Task<IResult> SilosAsync(HttpContext http, CancellationToken ct)
    {
        var (o, admin, _) = Services(http);
        var silos = await admin.SilosAsync(ct).ConfigureAwait(false);
        var html = new Html();
        Header(html, http, o, "silos", "Silos");
        html.Raw("<h1>Silos</h1><table id=\"silos\"><tr><th>Cluster</th><th>Address</th><th>Name</th><th>Host</th><th>Status</th><th>Started</th><th>Last heartbeat</th><th class=\"num\">Running jobs</th></tr>");
        var now = DateTimeOffset.UtcNow;
        foreach (var s in silos)
        {
            // A silo that stopped itself is Dead to Orleans too; one its peers declared dead crashed or was cut off.
            var (css, status) = s.Status switch
            {
                "Active" => ("ok", "Active"),
                "Dead" when s.SuspectedByPeers => ("bad", "Dead: declared by its peers"),
                "Dead" => ("", "Stopped"),
                _ => ("warn", s.Status),
            };
            html.Raw("<tr data-silo=\"").Attr(s.Address).Raw("\"><td>").Text(s.ClusterId).Raw("</td><td class=\"mono\">").Text(s.Address).Raw("</td><td>").Text(s.Name).Raw("</td><td>").Text(s.HostName)
                .Raw("</td><td><span class=\"badge ").Raw(css).Raw("\" data-status>").Text(status).Raw("</span></td><td>").Text(Html.Time(s.StartedAt)).Raw("</td><td>")
                .Text(Html.Time(s.LastHeartbeatAt)).Raw(" <span class=\"muted\">(").Text(Html.Duration(now > s.LastHeartbeatAt ? now - s.LastHeartbeatAt : TimeSpan.Zero)).Raw(" ago)</span></td><td class=\"num\">").Num(s.RunningJobs).Raw("</td></tr>");
        }

        html.Raw("</table>");
        if (silos.Count == 0)
        {
            html.Raw("<p class=\"muted\">Orleans membership lists no silo.</p>");
        }

        Footer(html, http);
        return Page(html);
    }

    // ---------------------------------------------------------------- actions

    public async Task<IResult> JobActionAsync(Guid id, string action, HttpContext http, CancellationToken ct)
    {
        if (await DashboardForms.RejectAsync(http).ConfigureAwait(false) is { } rejected)
        {
            return rejected;
        }

        var (_, admin, _) = Services(http);
        var form = await http.Request.ReadFormAsync(ct).ConfigureAwait(false);
        var actor = DashboardActor.Of(http);
        try
        {
            var message = action switch
            {
                "retry" => await Do(() => admin.RetryAsync(id, actor, ct), $"Job {id} retried: due now{await PausedNoteAsync(http, id, ct).ConfigureAwait(false)}."),
                "cancel" => await admin.CancelAsync(id, actor, ct).ConfigureAwait(false) == JobCancelOutcome.CancelRequested
                    ? $"Job {id} runs: its cancel was requested; it ends cancelled when its run returns."
                    : $"Job {id} cancelled.",
                "delete" => await Do(() => admin.DeleteAsync(id, actor, ct), $"Job {id} deleted with its history."),
                _ => null,
            };
            if (message is null)
            {
                return Results.NotFound();
            }

            var back = action == "delete" ? Root(http) + "/jobs" : form["return"].ToString();
            return DashboardForms.Back(http, prefix, back, "notice", message);
        }
        catch (Exception ex) when (ex is JobStateConflictException or JobNotFoundException or ArgumentException)
        {
            return DashboardForms.Back(http, prefix, form["return"], "error", InputErrorText.Of(ex));
        }
    }

    public async Task<IResult> BulkAsync(HttpContext http, CancellationToken ct)
    {
        if (await DashboardForms.RejectAsync(http).ConfigureAwait(false) is { } rejected)
        {
            return rejected;
        }

        var (_, admin, _) = Services(http);
        var form = await http.Request.ReadFormAsync(ct).ConfigureAwait(false);
        var ids = new List<JobId>();
        foreach (var text in form["ids"])
        {
            if (!JobId.TryParse(text, out var id))
            {
                return DashboardForms.Back(http, prefix, form["return"], "error", "A selected id is not a job id.");
            }

            ids.Add(id);
        }

        if (ids.Count == 0)
        {
            return DashboardForms.Back(http, prefix, form["return"], "error", "Select at least one job.");
        }

        var actor = DashboardActor.Of(http);
        try
        {
            var (verb, result) = form["action"].ToString() switch
            {
                "retry" => ("retried", await admin.RetryAsync(ids, actor, ct).ConfigureAwait(false)),
                "cancel" => ("cancelled", await admin.CancelAsync(ids, actor, ct).ConfigureAwait(false)),
                "delete" => ("deleted", await admin.DeleteAsync(ids, actor, ct).ConfigureAwait(false)),
                _ => ("", null!),
            };
            return result is null ? Results.BadRequest() : DashboardForms.Back(http, prefix, form["return"], "notice", Summary(verb, result));
        }
        catch (ArgumentException ex)
        {
            return DashboardForms.Back(http, prefix, form["return"], "error", InputErrorText.Of(ex));
        }
    }

    public async Task<IResult> BulkFilterAsync(HttpContext http, CancellationToken ct)
    {
        if (await DashboardForms.RejectAsync(http).ConfigureAwait(false) is { } rejected)
        {
            return rejected;
        }

        var (_, admin, _) = Services(http);
        var form = await http.Request.ReadFormAsync(ct).ConfigureAwait(false);
        var actor = DashboardActor.Of(http);
        try
        {
            var filter = ParseQuery(new QueryCollection(form.ToDictionary(kv => kv.Key, kv => kv.Value))).Filter;
            var (verb, result) = form["action"].ToString() switch
            {
                "retry" => ("retried", await admin.RetryAllAsync(filter, actor, cancellationToken: ct).ConfigureAwait(false)),
                "cancel" => ("cancelled", await admin.CancelAllAsync(filter, actor, cancellationToken: ct).ConfigureAwait(false)),
                "delete" => ("deleted", await admin.DeleteAllAsync(filter, actor, cancellationToken: ct).ConfigureAwait(false)),
                _ => ("", null!),
            };
            return result is null ? Results.BadRequest() : DashboardForms.Back(http, prefix, form["return"], "notice", Summary(verb, result));
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException)
        {
            return DashboardForms.Back(http, prefix, form["return"], "error", InputErrorText.Of(ex));
        }
    }

    public async Task<IResult> TypeActionAsync(string type, string action, HttpContext http, CancellationToken ct)
    {
        if (await DashboardForms.RejectAsync(http).ConfigureAwait(false) is { } rejected)
        {
            return rejected;
        }

        var (_, admin, _) = Services(http);
        var actor = DashboardActor.Of(http);
        if (!JobType.IsValid(type))
        {
            return DashboardForms.Back(http, prefix, Root(http) + "/types", "error", "Not a job type.");
        }

        switch (action)
        {
            case "pause":
                await admin.PauseAsync(new JobType(type), actor, ct).ConfigureAwait(false);
                return DashboardForms.Back(http, prefix, Root(http) + "/types", "notice", $"{type} paused: no silo claims its jobs until it is resumed.");
            case "resume":
                await admin.ResumeAsync(new JobType(type), actor, ct).ConfigureAwait(false);
                return DashboardForms.Back(http, prefix, Root(http) + "/types", "notice", $"{type} resumed.");
            default:
                return Results.NotFound();
        }
    }

    /// <summary>Pauses, resumes or removes the schedule the form names (names may hold '/', so not in the path).</summary>
    public async Task<IResult> ScheduleActionAsync(string action, HttpContext http, CancellationToken ct)
    {
        if (await DashboardForms.RejectAsync(http).ConfigureAwait(false) is { } rejected)
        {
            return rejected;
        }

        var schedules = http.RequestServices.GetRequiredService<JobSchedules>();
        var form = await http.Request.ReadFormAsync(ct).ConfigureAwait(false);
        var name = form["name"].ToString();
        var actor = DashboardActor.Of(http);
        var back = Root(http) + "/schedules";
        try
        {
            switch (action)
            {
                case "pause":
                    await schedules.PauseAsync(name, actor, ct).ConfigureAwait(false);
                    return DashboardForms.Back(http, prefix, back, "notice", $"Schedule {name} paused: its ticks spawn no job until it is resumed.");
                case "resume":
                    var resumed = await schedules.ResumeAsync(name, actor, ct).ConfigureAwait(false);
                    return DashboardForms.Back(http, prefix, back, "notice", $"Schedule {name} resumed: next tick {Html.Time(resumed.NextTick)}.");
                case "remove":
                    return await schedules.RemoveAsync(name, actor, ct).ConfigureAwait(false)
                        ? DashboardForms.Back(http, prefix, back, "notice", $"Schedule {name} removed: no tick of it fires any more.")
                        : throw new JobScheduleNotFoundException(name);
                default:
                    return Results.NotFound();
            }
        }
        catch (JobScheduleNotFoundException ex)
        {
            return DashboardForms.Back(http, prefix, back, "error", $"No schedule named '{ex.Name}' exists (removed meanwhile?).");
        }
        catch (InvalidJobScheduleException ex)
        {
            return DashboardForms.Back(http, prefix, back, "error", InputErrorText.Of(ex));
        }
    }

    // A retried job of a paused type waits like every job of its type: the notice says so, or it reads as a promise.
    private static async Task<string> PausedNoteAsync(HttpContext http, Guid id, CancellationToken ct)
    {
        var type = (await http.RequestServices.GetRequiredService<JobClient>().GetStatusAsync(new JobId(id), ct).ConfigureAwait(false)).JobType; // the row, not its history
        var settings = await http.RequestServices.GetRequiredService<JobFlowControl>().GetAsync(new JobType(type), ct).ConfigureAwait(false);
        return settings is { Paused: true } ? $", but {type} is paused: it runs once the type is resumed" : "";
    }

    private static async Task<string> Do(Func<Task> action, string message)
    {
        await action().ConfigureAwait(false);
        return message;
    }

    private static string Summary(string verb, JobBulkResult r)
    {
        var text = $"{r.Changed:N0} of {r.Matched:N0} jobs {verb}";
        if (r.Skipped > 0)
        {
            text += $"; {r.Skipped:N0} skipped for their state";
        }

        if (r.Missing > 0)
        {
            text += $"; {r.Missing:N0} no longer existed";
        }

        return r.More ? text + "; more match: run it again." : text + ".";
    }

    // ---------------------------------------------------------------- layout

    private string Root(HttpContext http) => http.Request.PathBase.Value + prefix;

    private static (JobDashboardOptions Options, JobAdmin Admin, DashboardStats Stats) Services(HttpContext http)
    {
        var sp = http.RequestServices;
        return (sp.GetRequiredService<IOptions<JobDashboardOptions>>().Value, sp.GetRequiredService<JobAdmin>(), sp.GetRequiredService<DashboardStats>());
    }

    private void Header(Html html, HttpContext http, JobDashboardOptions o, string current, string title)
    {
        var root = Root(http);
        html.Raw("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>")
            .Text(title).Raw(" · ").Text(o.Title).Raw("</title><link rel=\"stylesheet\" href=\"").Attr(root + "/assets/dashboard.css").Raw("\"><script src=\"")
            .Attr(root + "/assets/dashboard.js").Raw("\" defer></script></head><body><header><span class=\"brand\">").Text(o.Title).Raw("</span><nav>");
        foreach (var (key, href, text) in new[] { ("overview", root + "/", "Overview"), ("jobs", root + "/jobs", "Jobs"), ("types", root + "/types", "Types"), ("schedules", root + "/schedules", "Schedules"), ("silos", root + "/silos", "Silos") })
        {
            html.Raw("<a href=\"").Attr(href).Raw(key == current ? "\" class=\"current\">" : "\">").Raw(text).Raw("</a>");
        }

        html.Raw("</nav><span class=\"mode\">").Raw(o.AllowActions ? "actions on" : "read-only").Raw("</span></header><main>");
        var q = http.Request.Query;
        if (q["notice"].ToString() is { Length: > 0 } notice)
        {
            html.Raw("<div class=\"notice\" role=\"status\">").Text(notice).Raw("</div>");
        }

        if (q["error"].ToString() is { Length: > 0 } error)
        {
            html.Raw("<div class=\"notice error\" role=\"alert\">").Text(error).Raw("</div>");
        }
    }

    private static void Footer(Html html, HttpContext http) =>
        html.Raw("</main><footer>Times are UTC. Served ").Text(Html.Time(DateTimeOffset.UtcNow)).Raw(".</footer></body></html>");

    private static void Token(Html html, HttpContext http)
    {
        var tokens = http.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(http);
        html.Raw("<input type=\"hidden\" name=\"").Attr(tokens.FormFieldName).Raw("\" value=\"").Attr(tokens.RequestToken).Raw("\">");
    }

    private static void State(Html html, JobStatus status, bool parked)
    {
        var name = parked ? "parked" : StateName(status);
        html.Raw("<span class=\"state ").Raw(name).Raw("\" data-state=\"").Raw(name).Raw("\">").Raw(name).Raw("</span>");
    }

    internal static string StateName(JobStatus status) => status switch
    {
        JobStatus.Completed => "completed",
        JobStatus.Errored => "errored",
        JobStatus.Cancelled => "cancelled",
        JobStatus.Running => "running",
        JobStatus.Scheduled => "scheduled",
        _ => "pending",
    };

    private static IResult Page(Html html, int status = 200)
    {
        return new HtmlResult(html.ToString(), status);
    }

    private sealed class HtmlResult(string html, int status) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = status;
            httpContext.Response.ContentType = "text/html; charset=utf-8";
            httpContext.Response.Headers.CacheControl = "no-store";
            return httpContext.Response.WriteAsync(html);
        }
    }
}
