using Job.Common;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using static Job.Dashboard.DashboardLayout;

namespace Job.Dashboard;

/// <summary>What the dashboard's forms post: retry, cancel and delete (one job, selected jobs, everything a
/// filter matches), pause and resume a type, pause, resume and remove a schedule. Each answers with a
/// redirect back and a notice or an error.</summary>
internal sealed class DashboardActions(DashboardLayout layout)
{
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

            var back = action == "delete" ? layout.Root(http) + "/jobs" : form["return"].ToString();
            return DashboardForms.Back(http, layout.Prefix, back, "notice", message);
        }
        catch (Exception ex) when (ex is JobStateConflictException or JobNotFoundException or ArgumentException)
        {
            return DashboardForms.Back(http, layout.Prefix, form["return"], "error", InputErrorText.Of(ex));
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
                return DashboardForms.Back(http, layout.Prefix, form["return"], "error", "A selected id is not a job id.");
            }

            ids.Add(id);
        }

        if (ids.Count == 0)
        {
            return DashboardForms.Back(http, layout.Prefix, form["return"], "error", "Select at least one job.");
        }

        var actor = DashboardActor.Of(http);
        return await BulkOutcomeAsync(http, form, action => action switch
        {
            "retry" => admin.RetryAsync(ids, actor, ct),
            "cancel" => admin.CancelAsync(ids, actor, ct),
            "delete" => admin.DeleteAsync(ids, actor, ct),
            _ => null,
        }).ConfigureAwait(false);
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
        JobFilter filter;
        try
        {
            filter = JobsPage.ParseQuery(new QueryCollection(form.ToDictionary(kv => kv.Key, kv => kv.Value))).Filter;
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException)
        {
            return DashboardForms.Back(http, layout.Prefix, form["return"], "error", InputErrorText.Of(ex));
        }

        return await BulkOutcomeAsync(http, form, action => action switch
        {
            "retry" => admin.RetryAllAsync(filter, actor, cancellationToken: ct),
            "cancel" => admin.CancelAllAsync(filter, actor, cancellationToken: ct),
            "delete" => admin.DeleteAllAsync(filter, actor, cancellationToken: ct),
            _ => null,
        }).ConfigureAwait(false);
    }

    // The form's action on the chosen jobs (a selection or a filter), and the notice that says what it did.
    private async Task<IResult> BulkOutcomeAsync(HttpContext http, IFormCollection form, Func<string, Task<JobBulkResult>?> run)
    {
        var action = form["action"].ToString();
        if (run(action) is not { } running)
        {
            return Results.BadRequest();
        }

        try
        {
            var verb = action switch { "retry" => "retried", "cancel" => "cancelled", _ => "deleted" };
            return DashboardForms.Back(http, layout.Prefix, form["return"], "notice", Summary(verb, await running.ConfigureAwait(false)));
        }
        catch (ArgumentException ex)
        {
            return DashboardForms.Back(http, layout.Prefix, form["return"], "error", InputErrorText.Of(ex));
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
            return DashboardForms.Back(http, layout.Prefix, layout.Root(http) + "/types", "error", "Not a job type.");
        }

        switch (action)
        {
            case "pause":
                await admin.PauseAsync(new JobType(type), actor, ct).ConfigureAwait(false);
                return DashboardForms.Back(http, layout.Prefix, layout.Root(http) + "/types", "notice", $"{type} paused: no silo claims its jobs until it is resumed.");
            case "resume":
                await admin.ResumeAsync(new JobType(type), actor, ct).ConfigureAwait(false);
                return DashboardForms.Back(http, layout.Prefix, layout.Root(http) + "/types", "notice", $"{type} resumed.");
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
        var back = layout.Root(http) + "/schedules";
        try
        {
            switch (action)
            {
                case "pause":
                    await schedules.PauseAsync(name, actor, ct).ConfigureAwait(false);
                    return DashboardForms.Back(http, layout.Prefix, back, "notice", $"Schedule {name} paused: its ticks spawn no job until it is resumed.");
                case "resume":
                    var resumed = await schedules.ResumeAsync(name, actor, ct).ConfigureAwait(false);
                    return DashboardForms.Back(http, layout.Prefix, back, "notice", $"Schedule {name} resumed: next tick {Html.Time(resumed.NextTick)}.");
                case "remove":
                    return await schedules.RemoveAsync(name, actor, ct).ConfigureAwait(false)
                        ? DashboardForms.Back(http, layout.Prefix, back, "notice", $"Schedule {name} removed: no tick of it fires any more.")
                        : throw new JobScheduleNotFoundException(name);
                default:
                    return Results.NotFound();
            }
        }
        catch (JobScheduleNotFoundException ex)
        {
            return DashboardForms.Back(http, layout.Prefix, back, "error", $"No schedule named '{ex.Name}' exists (removed meanwhile?).");
        }
        catch (InvalidJobScheduleException ex)
        {
            return DashboardForms.Back(http, layout.Prefix, back, "error", InputErrorText.Of(ex));
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
}
