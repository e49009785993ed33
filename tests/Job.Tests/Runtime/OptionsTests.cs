using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Job.Tests.Runtime;

/// <summary>
/// The one configuration surface (<see cref="JobsOptions"/>): every setting is checked at both of
/// its extremes, configuration is bound strictly (unknown keys and unit-less durations are errors
/// naming the key, never echoing the value), and every entry point lands in the same cluster.
/// </summary>
public sealed class OptionsTests
{
    private static JobsOptions Valid() => new() { ConnectionString = "Host=localhost;Username=app;Password=hunter2" };

    public static TheoryData<string, Action<JobsOptions>, bool> Extremes() => new()
    {
        { "MaxJobsPerProcess", o => o.MaxJobsPerProcess = 0, false },
        { "MaxJobsPerProcess", o => (o.MaxJobsPerProcess, o.MinJobsPerProcess) = (1, 1), true },
        { "MaxJobsPerProcess", o => o.MaxJobsPerProcess = JobsOptionsValidator.MaxJobsLimit, true },
        { "MaxJobsPerProcess", o => o.MaxJobsPerProcess = int.MaxValue, false },
        { "MinJobsPerProcess", o => o.MinJobsPerProcess = 0, false },
        { "MinJobsPerProcess", o => o.MinJobsPerProcess = o.MaxJobsPerProcess, true },
        { "MinJobsPerProcess", o => o.MinJobsPerProcess = int.MaxValue, false },
        { "JobLostInterval", o => o.JobLostInterval = TimeSpan.FromMilliseconds(999), false },
        { "JobLostInterval", o => o.JobLostInterval = TimeSpan.FromSeconds(1), true },
        { "JobLostInterval", o => o.JobLostInterval = JobsOptionsValidator.MaxJobLostInterval, true },
        { "JobLostInterval", o => o.JobLostInterval = TimeSpan.MaxValue, false },
        { "ShutdownTimeout", o => o.ShutdownTimeout = TimeSpan.FromTicks(-1), false },
        { "ShutdownTimeout", o => o.ShutdownTimeout = TimeSpan.Zero, true },
        { "ShutdownTimeout", o => o.ShutdownTimeout = JobsOptionsValidator.MaxShutdownTimeout, true },
        { "ShutdownTimeout", o => o.ShutdownTimeout = TimeSpan.MaxValue, false },
        { "MaxPollInterval", o => o.MaxPollInterval = TimeSpan.FromMilliseconds(9), false },
        { "MaxPollInterval", o => o.MaxPollInterval = TimeSpan.FromMilliseconds(10), true },
        { "MaxPollInterval", o => o.MaxPollInterval = TimeSpan.MaxValue, false },
        { "HistoryRetention", o => o.HistoryRetention = TimeSpan.Zero, false },
        { "HistoryRetention", o => o.HistoryRetention = TimeSpan.FromSeconds(1), true },
        { "HistoryRetention", o => o.HistoryRetention = JobsOptionsValidator.MaxHistoryRetention, true },
        { "HistoryRetention", o => o.HistoryRetention = TimeSpan.MaxValue, false },
        { "HistoryRetention", o => o.HistoryRetention = null, true },
        { "MembershipProbeTimeout", o => o.MembershipProbeTimeout = TimeSpan.Zero, false },
        { "MembershipProbeTimeout", o => o.MembershipProbeTimeout = TimeSpan.MaxValue, false },
        { "MembershipPauseTolerance", o => o.MembershipPauseTolerance = TimeSpan.MaxValue, false },
        { "MembershipPauseTolerance", o => o.MembershipPauseTolerance = JobsOptionsValidator.MaxPauseTolerance, true },
        { "MaxConfigBytes", o => o.MaxConfigBytes = 1, false },
        { "MaxConfigBytes", o => o.MaxConfigBytes = 2, true },
        { "MaxConfigBytes", o => o.MaxConfigBytes = JobsOptionsValidator.MaxConfigBytesLimit, true },
        { "MaxConfigBytes", o => o.MaxConfigBytes = int.MaxValue, false },
    };

    [Theory]
    [MemberData(nameof(Extremes))]
    public void Every_setting_is_checked_at_its_extremes(string setting, Action<JobsOptions> change, bool valid)
    {
        var options = Valid();
        change(options);
        var result = new JobsOptionsValidator().Validate(null, options);
        Assert.Equal(valid, result.Succeeded);
        if (!valid)
        {
            Assert.Contains($"JobsOptions.{setting}", result.FailureMessage);
        }
    }

    [Fact]
    public void The_crate_style_builder_checks_the_same_rules()
    {
        var ex = Assert.Throws<ArgumentException>(() => JobSvcConfig.Builder().PgCon("Host=x").HistoryRetention(TimeSpan.MaxValue).Build());
        Assert.Contains("HistoryRetention must be between", ex.Message);
        var poller = Assert.Throws<ArgumentException>(() => new JobPollerConfig { ShutdownTimeout = TimeSpan.MaxValue }.Validate());
        Assert.Contains("JobPollerConfig.ShutdownTimeout must be between", poller.Message);
    }

    [Fact]
    public void A_bad_connection_string_is_named_without_its_password()
    {
        var options = new JobsOptions { ConnectionString = "Host=x;Password=hunter2;Port=notaport" };
        var result = new JobsOptionsValidator().Validate(null, options);
        Assert.False(result.Succeeded);
        Assert.Contains("JobsOptions.ConnectionString", result.FailureMessage);
        Assert.Contains("ConnectionStrings:Jobs", result.FailureMessage); // the key a worker's user sets
        Assert.DoesNotContain("hunter2", result.FailureMessage);
    }

    [Theory]
    [InlineData("00:00:05", 5_000)]
    [InlineData("5s", 5_000)]
    [InlineData("500ms", 500)]
    [InlineData("1.5s", 1_500)]
    [InlineData("2m", 120_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("7d", 604_800_000)]
    [InlineData("1.00:00:00", 86_400_000)]
    public void Durations_are_read_with_their_unit(string text, long milliseconds)
    {
        Assert.True(JobsConfigurationBinder.TryParseDuration(text, out var value));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), value);
    }

    [Theory]
    [InlineData("5")]
    [InlineData("")]
    [InlineData("5 parsecs")]
    [InlineData("s")]
    [InlineData("99999999999999d")]
    public void A_duration_without_a_known_unit_is_refused(string text) =>
        Assert.False(JobsConfigurationBinder.TryParseDuration(text, out _));

    [Fact]
    public void Configuration_binds_every_key_and_refuses_a_bare_number_without_echoing_it()
    {
        var options = new JobsOptions();
        JobsConfigurationBinder.Bind(Section(new()
        {
            ["Jobs:ConnectionString"] = "Host=x",
            ["Jobs:MaxJobsPerProcess"] = "16",
            ["Jobs:MinJobsPerProcess"] = "8",
            ["Jobs:ShutdownTimeout"] = "2s",
            ["Jobs:JobLostInterval"] = "00:01:00",
            ["Jobs:HistoryRetention"] = "7d",
            ["Jobs:MembershipProbeTimeout"] = "",
        }), options);
        Assert.Equal((16, 8), (options.MaxJobsPerProcess, options.MinJobsPerProcess));
        Assert.Equal(TimeSpan.FromSeconds(2), options.ShutdownTimeout);
        Assert.Equal(TimeSpan.FromMinutes(1), options.JobLostInterval);
        Assert.Equal(TimeSpan.FromDays(7), options.HistoryRetention);
        Assert.Null(options.MembershipProbeTimeout);

        var bare = Assert.Throws<JobsConfigurationException>(() => JobsConfigurationBinder.Bind(Section(new() { ["Jobs:ShutdownTimeout"] = "5" }), new JobsOptions()));
        Assert.Contains("Jobs:ShutdownTimeout", bare.Message);
        Assert.Contains("bare number", bare.Message);

        // A value meant for another key (a swallowed argument) is never shown.
        var secret = Assert.Throws<JobsConfigurationException>(() =>
            JobsConfigurationBinder.Bind(Section(new() { ["Jobs:ShutdownTimeout"] = "Host=db;Password=hunter2" }), new JobsOptions()));
        Assert.DoesNotContain("hunter2", secret.Message);
    }

    [Fact]
    public void A_misspelled_key_is_an_error_naming_it()
    {
        var ex = Assert.Throws<JobsConfigurationException>(() =>
            JobsConfigurationBinder.Bind(Section(new() { ["Jobs:ShutdownTimout"] = "5s" }), new JobsOptions()));
        Assert.Contains("Jobs:ShutdownTimout is not a setting", ex.Message);
        Assert.Contains("ShutdownTimeout", ex.Message);
    }

    [Fact]
    public void An_unknown_key_stops_an_AddJobs_host_at_start()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Jobs:ConnectionString"] = "Host=localhost",
            ["Jobs:MaxJobsPerProces"] = "5",
        });
        var ex = Assert.ThrowsAny<Exception>(() => builder.UseOrleans(silo => silo.AddJobs(builder.Configuration.GetSection(JobsOptions.SectionName))));
        Assert.Contains("Jobs:MaxJobsPerProces", ex.Message);
    }

    [Fact]
    public void Invalid_options_stop_the_host_at_start_with_every_problem_named()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleans(silo => silo.AddJobs(o =>
        {
            o.ConnectionString = "Host=localhost";
            o.ShutdownTimeout = TimeSpan.MaxValue;
            o.MaxPollInterval = TimeSpan.Zero;
        }));
        using var host = builder.Build(); // never started: nothing connects
        var ex = Assert.Throws<OptionsValidationException>(() => host.Services.GetRequiredService<IOptions<JobsOptions>>().Value);
        Assert.Contains("JobsOptions.ShutdownTimeout", ex.Message);
        Assert.Contains("JobsOptions.MaxPollInterval", ex.Message);
    }

    [Fact]
    public void An_AddJobs_host_joins_the_cluster_every_other_entry_point_uses()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleans(silo => silo.AddJobs(o => o.ConnectionString = "Host=localhost"));
        using var host = builder.Build();
        var cluster = host.Services.GetRequiredService<IOptions<ClusterOptions>>().Value;
        Assert.Equal(("job", "job"), (cluster.ClusterId, cluster.ServiceId));
        Assert.Equal("job", JobSvcConfig.Builder().PgCon("Host=x").Build().ClusterId);
    }

    [Fact]
    public void A_cluster_id_the_host_sets_is_kept()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o => o.ClusterId = "mine");
            silo.AddJobs(o => o.ConnectionString = "Host=localhost");
        });
        using var host = builder.Build();
        Assert.Equal("mine", host.Services.GetRequiredService<IOptions<ClusterOptions>>().Value.ClusterId);
    }

    private static IConfigurationSection Section(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build().GetSection(JobsOptions.SectionName);
}
