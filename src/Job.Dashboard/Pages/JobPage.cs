using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using static Job.Dashboard.DashboardLayout;

namespace Job.Dashboard;

/// <summary>One job: its facts, config, execution state and history (the newest events, paging back),
/// with the actions its state allows.</summary>
internal sealed class JobPage(DashboardLayout layout)
{
    private static readonly JsonSerializerOptions s_pretty = new() { WriteIndented = true };

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
            layout.Header(missing, http, o, "jobs", "Job not found");
            missing.Raw("<h1>Job not found</h1><p>No job has the id <span class=\"mono\">").Text(id.ToString()).Raw("</span> (deleted, or pruned by history retention).</p>");
            Footer(missing, http);
            return Page(missing, 404);
        }

        var s = details.Snapshot;
        var mayAct = await DashboardForms.MayActAsync(http, o).ConfigureAwait(false);
        var html = new Html();
        var now = Now(http);
        layout.Header(html, http, o, "jobs", $"Job {id}");
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
                ActionButton(html, http, $"{layout.Root(http)}/jobs/{id}/retry", here, "Retry now", "retry", null, "primary");
            }

            if (!s.IsTerminal)
            {
                ActionButton(html, http, $"{layout.Root(http)}/jobs/{id}/cancel", here, s.Status == JobStatus.Running ? "Cancel (stop the run)" : "Cancel", "cancel", "Cancel this job?", "");
            }

            if (s.IsTerminal)
            {
                ActionButton(html, http, $"{layout.Root(http)}/jobs/{id}/delete", here, "Delete", "delete", "Delete this job and its history?", "danger");
            }

            html.Raw("</div>");
        }

        html.Raw("<dl class=\"facts\">");
        Fact(html, "Type", s.JobType);
        Fact(html, "State", JobStateNames.Name(s.Status) + (details.Parked ? " (parked: waiting for its turn in its queue)" : "") + (details.CancelRequestedAt is { } cr ? $" — cancel requested {Html.Time(cr)}" : ""));
        // A finished job keeps no attempt counter; its history has the attempt it ended in.
        var shownAttempt = s.IsTerminal ? JobHistoryText.EndedInAttempt(newest.History) : s.Attempt;
        Fact(html, "Attempt", shownAttempt?.ToString(CultureInfo.InvariantCulture) ?? "—");
        FactWhen(html, "Next run", s.NextRunAt, now);
        Fact(html, "Queue", s.QueueId ?? "—");
        Fact(html, "Priority", details.Priority.ToString(CultureInfo.InvariantCulture));
        FactWhen(html, "Created", s.CreatedAt, now);
        FactWhen(html, "Finished", s.FinishedAt, now);
        if (details.ClaimedBy is { } silo)
        {
            Fact(html, "Running on", silo);
            FactWhen(html, "Run started", details.StartedAt, now);
            FactWhen(html, "Last heartbeat", details.AliveAt, now);
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
            html.Raw("<li class=\"").Raw(css).Raw("\" data-event=\"").Attr(e.Type).Raw("\"><div class=\"when\">").When(e.RecordedAt, now);
            if (e.Attempt is { } attempt)
            {
                html.Raw(" · attempt ").Text(attempt.ToString(CultureInfo.InvariantCulture));
            }

            if (e.ScheduledAt is { } at)
            {
                html.Raw(" · due ").When(at, now);
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

            if (JobHistoryText.By(e) is { } by)
            {
                html.Raw("<div class=\"muted\">").Text(by).Raw("</div>"); // unless the reason already says who
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

        var page = $"{layout.Root(http)}/jobs/{id}";
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
}
