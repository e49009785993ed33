using System.Security.Claims;
using System.Text.Encodings.Web;
using Job.Dashboard;
using Job.Tests.Infrastructure;
using Job.Tests.Runtime;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Playwright;

namespace Job.Tests.Dashboard;

/// <summary>The browser tests share one browser, one silo and the dashboards (and run one at a time).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DashboardCollection : ICollectionFixture<DashboardFixture>
{
    public const string Name = "Dashboard";
}

/// <summary>
/// One database, one silo running the test's job types, and three dashboards on loopback: "open"
/// (actions on, no policy: loopback only), "guarded" (a viewer policy, and an operator policy for
/// actions; users come from the X-User and X-Role headers), and "readonly". One Chromium from
/// Debian's package, driven by Playwright through its executable path.
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    /// <summary>Where Debian's chromium package puts the browser; JOB_CHROMIUM overrides it.</summary>
    public static string ChromiumPath => Environment.GetEnvironmentVariable("JOB_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    private readonly List<WebApplication> _apps = [];
    private JobsHarness? _harness;
    private IPlaywright? _playwright;

    public string ConnectionString { get; private set; } = "";
    public Jobs Jobs { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;
    public string OpenUrl { get; private set; } = "";
    public string GuardedUrl { get; private set; } = "";
    public string ReadOnlyUrl { get; private set; } = "";

    /// <summary>While set, ui.flaky jobs fail (NAttempts 1: they end errored).</summary>
    public volatile bool FlakyFails = true;

    public JobSpawner<TestConfig> Flaky { get; private set; } = null!;
    public JobSpawner<TestConfig> Long { get; private set; } = null!;
    public JobSpawner<TestConfig> Paused { get; private set; } = null!;
    public JobSpawner<TestConfig> Ok { get; private set; } = null!;
    public JobSpawner<TestConfig> Other { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        ConnectionString = await PostgresServer.CreateDatabaseAsync("job_ui");
        _harness = new JobsHarness(ConnectionString);
        Jobs = await _harness.StartAsync();
        Flaky = Jobs.AddInitializer(new TestInitializer("ui.flaky", (_, _, _) =>
            FlakyFails ? throw new InvalidOperationException("the ui.flaky job fails on purpose") : Task.FromResult(JobCompletion.Complete()))
        {
            RetryOnErrorSettings = new RetrySettings { NAttempts = 1 },
        });
        Long = Jobs.AddInitializer(new TestInitializer("ui.long", async (_, _, ct) =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            return JobCompletion.Complete();
        }));
        Paused = Jobs.AddInitializer(TestInitializer.Completing("ui.pausable"));
        Ok = Jobs.AddInitializer(TestInitializer.Completing("ui.ok"));
        Other = Jobs.AddInitializer(TestInitializer.Completing("ui.other"));
        await Jobs.StartPollAsync();

        OpenUrl = await StartAsync(o => o.AllowActions = true, null) + "/jobs";
        GuardedUrl = await StartAsync(o =>
        {
            o.AllowActions = true;
            o.AuthorizationPolicy = "viewer";
            o.ActionsPolicy = "operator";
        }, services =>
        {
            services.AddAuthentication(HeaderAuthentication.SchemeName).AddScheme<AuthenticationSchemeOptions, HeaderAuthentication>(HeaderAuthentication.SchemeName, null);
            services.AddAuthorization(o =>
            {
                o.AddPolicy("viewer", p => p.RequireAuthenticatedUser());
                o.AddPolicy("operator", p => p.RequireRole("operator"));
            });
        }) + "/jobs";
        ReadOnlyUrl = await StartAsync(_ => { }, null) + "/jobs";

        // Expect(...) waits 5 s by default, page actions 30 s (below): on a machine busy with the other
        // test classes' silos, a page that re-renders after a bulk action may take longer than 5 s.
        Assertions.SetDefaultExpectTimeout(30_000);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
    }

    private async Task<string> StartAsync(Action<JobDashboardOptions> dashboard, Action<IServiceCollection>? more)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddJobClient(o => o.ConnectionString = ConnectionString);
        builder.Services.AddJobDashboard(o =>
        {
            o.RefreshInterval = TimeSpan.FromSeconds(1);
            o.FullCountInterval = TimeSpan.FromSeconds(3);
            dashboard(o);
        });
        more?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapJobDashboard("/jobs");
        await app.StartAsync();
        _apps.Add(app);
        return app.Urls.Single();
    }

    /// <summary>A page of its own (a fresh context: cookies, headers) that accepts confirmation dialogs.</summary>
    public async Task<IPage> PageAsync(Dictionary<string, string>? headers = null)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { ExtraHTTPHeaders = headers, ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(30_000);
        page.Dialog += (_, dialog) => _ = dialog.AcceptAsync();
        return page;
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
        foreach (var app in _apps)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        if (_harness is not null)
        {
            await _harness.DisposeAsync();
        }
    }

    /// <summary>Signs in whoever the X-User header names, with the roles of X-Role (tests only).</summary>
    private sealed class HeaderAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        public const string SchemeName = "test-header";

        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (Request.Headers["X-User"].ToString() is not { Length: > 0 } user)
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            var claims = new List<Claim> { new(ClaimTypes.Name, user) };
            claims.AddRange(Request.Headers["X-Role"].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries).Select(r => new Claim(ClaimTypes.Role, r)));
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName)), SchemeName)));
        }
    }
}
