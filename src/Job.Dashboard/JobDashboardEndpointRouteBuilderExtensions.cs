using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Reflection;
using Job.Dashboard;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the Job dashboard into an ASP.NET Core application.</summary>
public static class JobDashboardEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Serves the dashboard under <paramref name="pattern"/> (default <c>/jobs</c>): overview, jobs,
    /// a job, types, schedules and silos, with actions only when <see cref="JobDashboardOptions.AllowActions"/> is
    /// on. Without <see cref="JobDashboardOptions.AuthorizationPolicy"/> it answers loopback callers
    /// only and the host refuses to start when its server listens elsewhere; with one, every page
    /// requires it. Every action checks an antiforgery token; every response carries a strict
    /// Content-Security-Policy. Register it first with <c>services.AddJobDashboard(…)</c>.
    /// </summary>
    /// <returns>The group of the dashboard's endpoints, for more conventions (a rate limiter, CORS off…).</returns>
    /// <exception cref="InvalidOperationException"><c>AddJobDashboard</c> was not called.</exception>
    public static RouteGroupBuilder MapJobDashboard(this IEndpointRouteBuilder endpoints, string pattern = "/jobs")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(pattern);
        var options = endpoints.ServiceProvider.GetService<IOptions<JobDashboardOptions>>()
            ?? throw new InvalidOperationException("Call services.AddJobDashboard(…) before app.MapJobDashboard(…).");
        if (endpoints.ServiceProvider.GetService<DashboardStats>() is null)
        {
            throw new InvalidOperationException("Call services.AddJobDashboard(…) before app.MapJobDashboard(…).");
        }

        var o = options.Value;
        var prefix = "/" + pattern.Trim('/');
        var group = endpoints.MapGroup(prefix == "/" ? "" : prefix);
        if (o.Port is { } port)
        {
            group.RequireHost($"*:{port}");
        }

        if (o.AuthorizationPolicy is { } policy)
        {
            group.RequireAuthorization(policy);
        }

        group.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            if (o.AuthorizationPolicy is null && !IsLoopback(http.Connection.RemoteIpAddress))
            {
                // Fail closed: without a policy the dashboard is for this machine only.
                return Results.Text("The Job dashboard answers loopback only unless the application sets an authorization policy.", statusCode: 403);
            }

            var headers = http.Response.Headers;
            headers.ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            var started = Stopwatch.GetTimestamp();
            var result = await next(context).ConfigureAwait(false);
            headers["Server-Timing"] = string.Create(CultureInfo.InvariantCulture, $"app;dur={Stopwatch.GetElapsedTime(started).TotalMilliseconds:0.0}");
            return result;
        });

        var layout = new DashboardLayout(prefix == "/" ? "" : prefix);
        var overview = new OverviewPage(layout);
        var jobs = new JobsPage(layout);
        var job = new JobPage(layout);
        group.MapMethods("/", [HttpMethods.Get, HttpMethods.Head], overview.OverviewAsync); // HEAD: uptime probes
        group.MapGet("/overview/live", overview.OverviewLiveAsync);
        group.MapGet("/jobs", jobs.JobsAsync);
        group.MapGet("/jobs/{id:guid}", job.JobAsync);
        group.MapGet("/types", new TypesPage(layout).TypesAsync);
        group.MapGet("/schedules", new SchedulesPage(layout).SchedulesAsync);
        group.MapGet("/silos", new SilosPage(layout).SilosAsync);
        group.MapGet("/assets/{name}", Asset);

        if (o.AllowActions)
        {
            var actions = group.MapGroup("");
            if (o.ActionsPolicy is { } actionsPolicy)
            {
                actions.RequireAuthorization(actionsPolicy);
            }

            var forms = new DashboardActions(layout);
            actions.MapPost("/jobs/{id:guid}/{action}", forms.JobActionAsync).DisableAntiforgery();
            actions.MapPost("/jobs/bulk", forms.BulkAsync).DisableAntiforgery();
            actions.MapPost("/jobs/bulk-filter", forms.BulkFilterAsync).DisableAntiforgery();
            actions.MapPost("/types/{type}/{action}", forms.TypeActionAsync).DisableAntiforgery();
            actions.MapPost("/schedules/{action}", forms.ScheduleActionAsync).DisableAntiforgery();
        }

        return group;
    }

    internal static bool IsLoopback(IPAddress? address) => address is not null && IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);

    private static readonly Assembly s_assembly = typeof(JobDashboardOptions).Assembly;

    private static IResult Asset(string name, HttpContext http)
    {
        var type = Path.GetExtension(name) switch
        {
            ".css" => "text/css; charset=utf-8",
            ".js" => "text/javascript; charset=utf-8",
            _ => null,
        };
        var stream = type is null ? null : s_assembly.GetManifestResourceStream("Job.Dashboard.Assets." + name);
        if (stream is null)
        {
            return Results.NotFound();
        }

        http.Response.Headers.CacheControl = "public, max-age=3600";
        return Results.Stream(stream, type);
    }
}

