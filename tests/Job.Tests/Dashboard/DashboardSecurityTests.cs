using Job.Dashboard;
using Job.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Job.Tests.Dashboard;

/// <summary>Fail closed (issue 12.3): off loopback without an authorization policy the dashboard's host does not start.</summary>
public sealed class DashboardSecurityTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task Off_loopback_without_a_policy_the_host_refuses_to_start_and_with_one_it_starts()
    {
        var refused = await Record.ExceptionAsync(() => StartAsync("http://0.0.0.0:0", policy: null));
        Assert.NotNull(refused);
        var cause = Flatten(refused).OfType<JobDashboardSecurityException>().FirstOrDefault();
        Assert.True(cause is not null, $"expected JobDashboardSecurityException, got {refused}");
        Assert.Contains("AuthorizationPolicy", cause.Message, StringComparison.Ordinal);

        Assert.Null(await Record.ExceptionAsync(() => StartAsync("http://0.0.0.0:0", policy: "ops")));
        Assert.Null(await Record.ExceptionAsync(() => StartAsync("http://127.0.0.1:0", policy: null)));
    }

    [Fact]
    public async Task A_worker_refuses_a_dashboard_address_off_loopback_in_one_line()
    {
        var result = await DotnetProcess.RunAsync("Job.Silo.dll", ["--Dashboard:Port=1", "--Dashboard:Address=0.0.0.0", "--Health:Port=0", "--Orleans:SiloPort=0", "--Orleans:GatewayPort=0"],
            TimeSpan.FromSeconds(90), new Dictionary<string, string> { ["ConnectionStrings__Jobs"] = db.ConnectionString });
        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Contains("Dashboard:Address must be a loopback address", line, StringComparison.Ordinal);
    }

    private async Task StartAsync(string url, string? policy)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(url);
        builder.Services.AddJobClient(o => o.ConnectionString = db.ConnectionString);
        builder.Services.AddAuthorization(o => o.AddPolicy("ops", p => p.RequireAuthenticatedUser()));
        builder.Services.AddJobDashboard(o => o.AuthorizationPolicy = policy);
        await using var app = builder.Build();
        app.MapJobDashboard("/jobs");
        try
        {
            await app.StartAsync();
        }
        finally
        {
            await app.StopAsync();
        }
    }

    private static IEnumerable<Exception> Flatten(Exception e)
    {
        yield return e;
        if (e is AggregateException aggregate)
        {
            foreach (var inner in aggregate.InnerExceptions.SelectMany(Flatten))
            {
                yield return inner;
            }
        }
        else if (e.InnerException is { } inner)
        {
            foreach (var x in Flatten(inner))
            {
                yield return x;
            }
        }
    }
}
