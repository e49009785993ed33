using System.Globalization;
using Job.Common;
using Microsoft.AspNetCore.Http;
using static Job.Dashboard.DashboardLayout;

namespace Job.Dashboard;

/// <summary>The jobs list: a filter (state, type, queue, id prefix, time range), a keyset page of the
/// matching jobs, and the actions on selected jobs and on everything the filter matches.</summary>
internal sealed class JobsPage(DashboardLayout layout)
{
    public async Task<IResult> JobsAsync(HttpContext http, CancellationToken ct)
    {
        var (o, admin, stats) = Services(http);
        var q = http.Request.Query;
        var mayAct = await DashboardForms.MayActAsync(http, o).ConfigureAwait(false);
        var html = new Html();
        var now = Now(http);
        layout.Header(html, http, o, "jobs", "Jobs");
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
                html.Raw("<form method=\"post\" action=\"").Attr(layout.Root(http) + "/jobs/bulk").Raw("\">");
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
                html.Raw("<td class=\"mono nowrap\"><a href=\"").Attr($"{layout.Root(http)}/jobs/{job.Id}").Raw("\">").Text(job.Id.ToString()).Raw("</a></td><td>").Text(job.JobType).Raw("</td><td>");
                State(html, job.Status, job.Parked);
                html.Raw("</td><td class=\"num\">").Text(job.Attempt?.ToString(CultureInfo.InvariantCulture) ?? "—").Raw("</td><td class=\"queue\">").Text(job.QueueId)
                    .Raw("</td><td class=\"nowrap\">").When(at, now).Raw("</td><td class=\"error\" title=\"").Attr(job.LastError).Raw("\">").Text(job.LastError).Raw("</td></tr>");
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
                var matched = await admin.CountMatchingAsync(filter, CountedUpTo, ct).ConfigureAwait(false);
                FilterActions(html, http, q, filter, matched, here);
            }
        }

        Footer(html, http);
        return Page(html);
    }

    // How far the jobs page counts what a filter matches. Counting reads the matching rows along the
    // list's index: up to 1,000 costs a few milliseconds; up to the 10,000 a click takes cost 80 ms
    // on 100,000 pending jobs (docs/performance.md), for a number an operator reads as "thousands".
    private const int CountedUpTo = 1_000;
    private static readonly string PerClick = JobAdmin.MaxBulk.ToString("N0", CultureInfo.InvariantCulture);

    // The actions on everything the filter matches, with how many that is in their confirmations; only
    // those the filter's state allows (a running or completed job cannot be retried, a finished one
    // cancelled, a live one deleted).
    private void FilterActions(Html html, HttpContext http, IQueryCollection q, JobFilter filter, JobMatchCount matched, string here)
    {
        html.Raw("<h2>Everything this filter matches</h2>");
        if (matched.Count == 0)
        {
            html.Raw("<p class=\"muted\" data-matched=\"0\">No job matches this filter.</p>");
            return;
        }

        html.Raw("<form method=\"post\" class=\"actions\" action=\"").Attr(layout.Root(http) + "/jobs/bulk-filter").Raw("\">");
        Token(html, http);
        html.Raw("<input type=\"hidden\" name=\"return\" value=\"").Attr(here).Raw("\">");
        foreach (var key in new[] { "state", "type", "queue", "id", "from", "to" })
        {
            if (q[key].ToString() is { Length: > 0 } value)
            {
                html.Raw("<input type=\"hidden\" name=\"").Raw(key).Raw("\" value=\"").Attr(value).Raw("\">");
            }
        }

        var state = filter.State;
        var count = matched.Count.ToString("N0", CultureInfo.InvariantCulture);
        html.Raw("<span class=\"muted\" data-matched=\"").Raw(matched.Count.ToString(CultureInfo.InvariantCulture)).Raw(matched.More ? "+" : "").Raw("\">")
            .Text(JobAdmin.Describe(filter)).Raw(": ")
            .Text(matched.More ? $"more than {count} jobs; each click acts on up to {PerClick}, the oldest first" : matched.Count == 1 ? "1 job" : $"{count} jobs").Raw("</span>");
        var which = matched.More ? $"the more than {count} jobs this filter matches (up to {PerClick} per click, the oldest first)"
            : matched.Count == 1 ? "the job this filter matches" : $"the {count} jobs this filter matches";
        var mixed = state is null ? " Those whose state does not allow it are skipped." : "";
        if (state is not (JobStatus.Running or JobStatus.Completed))
        {
            Bulk(html, "retry", "", $"Retry {which}?{mixed}", "Retry all");
        }

        if (state is null or JobStatus.Pending or JobStatus.Scheduled or JobStatus.Running)
        {
            Bulk(html, "cancel", "", $"Cancel {which}?{mixed}", "Cancel all");
        }

        if (state is null or JobStatus.Completed or JobStatus.Errored or JobStatus.Cancelled)
        {
            Bulk(html, "delete", "danger", $"Delete {which}, with their history?{mixed}", "Delete all");
        }

        html.Raw("</form>");

        static void Bulk(Html html, string action, string css, string confirm, string text) =>
            html.Raw("<button name=\"action\" value=\"").Raw(action).Raw("\" data-bulk=\"").Raw(action).Raw("\" class=\"").Raw(css)
                .Raw("\" data-confirm=\"").Attr(confirm).Raw("\">").Text(text).Raw("</button>");
    }

    private void Filters(Html html, HttpContext http, IQueryCollection q, StatsSnapshot snapshot)
    {
        html.Raw("<form class=\"filters\" method=\"get\" action=\"").Attr(layout.Root(http) + "/jobs").Raw("\">");
        html.Raw("<label>State<select name=\"state\"><option value=\"\">every state</option>");
        foreach (var state in States)
        {
            var name = JobStateNames.Name(state);
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
            .Raw("</select></label><button class=\"primary\" type=\"submit\">Filter</button><a href=\"").Attr(layout.Root(http) + "/jobs").Raw("\">clear</a></form>");
    }

    internal static JobListQuery ParseQuery(IQueryCollection q)
    {
        static string? Value(IQueryCollection q, string key) => q[key].ToString() is { Length: > 0 } v ? v.Trim() : null;
        JobStatus? state = Value(q, "state") is not { } name ? null
            : JobStateNames.TryParse(name, out var parsed) ? parsed
            : throw new ArgumentException($"'{name}' is not a state: {JobStateNames.All}.");
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

        return Microsoft.AspNetCore.WebUtilities.QueryHelpers.AddQueryString(layout.Root(http) + "/jobs", pairs);
    }
}
