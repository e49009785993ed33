using Microsoft.Extensions.Options;

namespace Job.Dashboard;

/// <summary>
/// How the dashboard behaves, set with <c>services.AddJobDashboard(o => …)</c> and checked when the
/// host starts (<see cref="JobDashboardOptionsValidator"/>). Every default is the safe one: read-only,
/// loopback only.
/// </summary>
public sealed class JobDashboardOptions
{
    /// <summary>
    /// The ASP.NET Core authorization policy every page and action requires. Without one the dashboard
    /// answers loopback callers only, and the host refuses to start when the dashboard's server
    /// listens on any other address (fail closed): job configs and errors are operational data.
    /// </summary>
    public string? AuthorizationPolicy { get; set; }

    /// <summary>
    /// Lets operators act (retry, cancel, delete; pause and resume types; pause, resume and remove
    /// schedules). Off by default: a dashboard is
    /// read-only unless the host opts in, because an action changes production work.
    /// </summary>
    public bool AllowActions { get; set; }

    /// <summary>
    /// A policy actions require on top of <see cref="AuthorizationPolicy"/> (viewers who may look but
    /// not act). Null: whoever may view may act, when <see cref="AllowActions"/> is on.
    /// </summary>
    public string? ActionsPolicy { get; set; }

    /// <summary>Serve the dashboard on this server port only (other ports answer 404), and check only
    /// this port's addresses at start. Null: every port the server listens on.</summary>
    public int? Port { get; set; }

    /// <summary>How often the overview refreshes itself and the counts are taken. Default 5 s.</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often finished jobs are counted in full (between, only the jobs finished since the last
    /// count are read): the full count reads every finished job, the increment only the interval's.
    /// Default 1 min.
    /// </summary>
    public TimeSpan FullCountInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How much history the charts keep (in memory). Default 1 h.</summary>
    public TimeSpan ChartWindow { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Counting stops when nobody looked for this long, so an unwatched dashboard costs nothing. Default 5 min.</summary>
    public TimeSpan IdleAfter { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The title in the header and the browser tab. Default "Job".</summary>
    public string Title { get; set; } = "Job";
}

/// <summary>The rules for <see cref="JobDashboardOptions"/>.</summary>
public sealed class JobDashboardOptionsValidator : IValidateOptions<JobDashboardOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, JobDashboardOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.RefreshInterval < TimeSpan.FromMilliseconds(250) || options.RefreshInterval > TimeSpan.FromMinutes(10))
        {
            failures.Add("JobDashboardOptions.RefreshInterval must be between 250 ms and 10 min.");
        }

        if (options.FullCountInterval < options.RefreshInterval || options.FullCountInterval > TimeSpan.FromDays(1))
        {
            failures.Add("JobDashboardOptions.FullCountInterval must be at least RefreshInterval and at most 1 day.");
        }

        if (options.ChartWindow < options.RefreshInterval * 2 || options.ChartWindow > TimeSpan.FromDays(1))
        {
            failures.Add("JobDashboardOptions.ChartWindow must hold at least two refreshes and at most 1 day.");
        }

        if (options.IdleAfter < options.RefreshInterval)
        {
            failures.Add("JobDashboardOptions.IdleAfter must be at least RefreshInterval.");
        }

        if (options.Port is < 1 or > 65535)
        {
            failures.Add("JobDashboardOptions.Port must be a port from 1 to 65535 (or null: every port).");
        }

        if (options.AuthorizationPolicy is { } policy && string.IsNullOrWhiteSpace(policy))
        {
            failures.Add("JobDashboardOptions.AuthorizationPolicy must name a policy (or be null: loopback only).");
        }

        if (options.ActionsPolicy is { } actions && string.IsNullOrWhiteSpace(actions))
        {
            failures.Add("JobDashboardOptions.ActionsPolicy must name a policy (or be null).");
        }

        if (string.IsNullOrWhiteSpace(options.Title) || options.Title.Length > 100)
        {
            failures.Add("JobDashboardOptions.Title must be 1 to 100 characters.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>The dashboard would be reachable off loopback without an authorization policy; the host does not start.</summary>
public sealed class JobDashboardSecurityException : InvalidOperationException
{
    /// <summary>Creates the error with a message that says what to do.</summary>
    public JobDashboardSecurityException(string message) : base(message) { }
}
