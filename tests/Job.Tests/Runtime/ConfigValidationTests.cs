using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Job.Tests.Runtime;

/// <summary>Invalid configuration fails at build time with a message that names the problem.</summary>
public sealed class ConfigValidationTests
{
    [Fact]
    public void Builder_needs_exactly_one_database_setting()
    {
        Assert.Equal("One of PgCon or DataSource must be set.", Assert.Throws<ArgumentException>(() => JobSvcConfig.Builder().Build()).Message);
        using var dataSource = Npgsql.NpgsqlDataSource.Create("Host=localhost");
        var both = Assert.Throws<ArgumentException>(() => JobSvcConfig.Builder().PgCon("Host=localhost").DataSource(dataSource).Build());
        Assert.Equal("Only one of PgCon or DataSource must be set.", both.Message);
    }

    [Fact]
    public void Migrations_default_to_on_with_a_connection_string_and_off_with_a_data_source()
    {
        Assert.True(JobSvcConfig.Builder().PgCon("Host=localhost").Build().ExecMigrations);
        using var dataSource = Npgsql.NpgsqlDataSource.Create("Host=localhost");
        Assert.False(JobSvcConfig.Builder().DataSource(dataSource).Build().ExecMigrations);
        Assert.True(JobSvcConfig.Builder().DataSource(dataSource).ExecMigrations(true).Build().ExecMigrations);
    }

    [Theory]
    [InlineData(0, 0, "MaxJobsPerProcess must be between 1 and 10000")]
    [InlineData(10, 20, "MinJobsPerProcess must be between 1 and MaxJobsPerProcess (10)")]
    [InlineData(10, 0, "MinJobsPerProcess must be between 1 and MaxJobsPerProcess (10)")]
    public void Poller_capacity_must_be_consistent(int max, int min, string expected)
    {
        var config = new JobPollerConfig { MaxJobsPerProcess = max, MinJobsPerProcess = min };
        Assert.Contains(expected, Assert.Throws<ArgumentException>(() => JobSvcConfig.Builder().PgCon("Host=x").PollerConfig(config).Build()).Message);
    }

    [Fact]
    public void Other_invalid_values_are_named()
    {
        Assert.Contains("JobLostInterval", Assert.Throws<ArgumentException>(() => new JobPollerConfig { JobLostInterval = TimeSpan.Zero }.Validate()).Message);
        Assert.Contains("ShutdownTimeout", Assert.Throws<ArgumentException>(() => new JobPollerConfig { ShutdownTimeout = TimeSpan.FromSeconds(-1) }.Validate()).Message);
        Assert.Contains("not a valid PostgreSQL connection string", Assert.Throws<ArgumentException>(() => JobSvcConfig.Builder().PgCon("Nonsense=1").Build()).Message);
        Assert.Contains("Ports", Assert.Throws<ArgumentException>(() => JobSvcConfig.Builder().PgCon("Host=x").Endpoint(System.Net.IPAddress.Loopback, 70000).Build()).Message);
        Assert.Contains("ClusterId", Assert.Throws<ArgumentException>(() => JobSvcConfig.Builder().PgCon("Host=x").Cluster(" ").Build()).Message);
        Assert.Contains("JobsOptions.ConnectionString", Assert.Throws<ArgumentException>(() => new JobsOptions().Validate()).Message);
    }

    [Fact]
    public void Membership_settings_must_fit_together()
    {
        static JobsOptions Options(TimeSpan? probe, TimeSpan? tolerance) =>
            new() { ConnectionString = "Host=x", MembershipProbeTimeout = probe, MembershipPauseTolerance = tolerance };

        var tooShort = Assert.Throws<ArgumentException>(() => Options(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(12)).Validate());
        Assert.Contains("MembershipPauseTolerance (00:00:12) must be at least three times MembershipProbeTimeout (00:00:05)", tooShort.Message);
        Assert.Contains("MembershipProbeTimeout must be between", Assert.Throws<ArgumentException>(() => Options(TimeSpan.Zero, null).Validate()).Message);
        Assert.Contains("MembershipPauseTolerance must be between", Assert.Throws<ArgumentException>(() => Options(null, TimeSpan.FromSeconds(-1)).Validate()).Message);
        Options(TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(9)).Validate();
        Options(null, null).Validate();
    }

    [Fact]
    public void Membership_settings_reach_orleans()
    {
        static ClusterMembershipOptions Membership(Action<JobsOptions> configure)
        {
            var builder = Host.CreateApplicationBuilder();
            builder.UseOrleans(silo => silo.AddJobs(o =>
            {
                o.ConnectionString = "Host=x";
                configure(o);
            }));
            using var host = builder.Build(); // never started: nothing connects
            return host.Services.GetRequiredService<IOptions<ClusterMembershipOptions>>().Value;
        }

        // Defaults: 3 s probes, and a frozen silo spared 12 s (three missed probes of at most 4 s).
        var defaults = Membership(_ => { });
        Assert.Equal(TimeSpan.FromSeconds(3), defaults.ProbeTimeout);
        Assert.Equal(TimeSpan.FromSeconds(4), defaults.MaxProbeTimeout);
        var custom = Membership(o => (o.MembershipProbeTimeout, o.MembershipPauseTolerance) = (TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30)));
        Assert.Equal(TimeSpan.FromSeconds(2), custom.ProbeTimeout);
        Assert.Equal(TimeSpan.FromSeconds(10), custom.MaxProbeTimeout);
        // Null leaves Orleans' own values alone.
        var orleans = new ClusterMembershipOptions();
        var untouched = Membership(o => (o.MembershipProbeTimeout, o.MembershipPauseTolerance) = (null, null));
        Assert.Equal(orleans.ProbeTimeout, untouched.ProbeTimeout);
        Assert.Equal(orleans.MaxProbeTimeout, untouched.MaxProbeTimeout);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-leading-dash")]
    [InlineData("has space")]
    [InlineData("semi;colon")]
    [InlineData("ünïcode")]
    public void Invalid_job_type_names_are_rejected(string name)
    {
        var ex = Assert.Throws<InvalidJobTypeException>(() => new JobType(name));
        Assert.Contains("is not a valid job type", ex.Message);
        Assert.False(JobType.IsValid(name));
    }

    [Fact]
    public void Job_type_length_is_bounded_and_safe_names_pass()
    {
        Assert.Throws<InvalidJobTypeException>(() => new JobType(new string('a', JobType.MaxLength + 1)));
        Assert.Equal("tenant:acme/inbox.v2-x_y", new JobType("tenant:acme/inbox.v2-x_y").Name);
        Assert.Throws<InvalidOperationException>(() => default(JobType).Name);
    }

    [Fact]
    public void Job_ids_are_time_ordered_and_parse_round_trip()
    {
        var first = JobId.New();
        Thread.Sleep(2);
        var second = JobId.New();
        Assert.True(first.CompareTo(second) < 0);
        Assert.Equal(7, first.Value.Version);
        Assert.Equal(first, JobId.Parse(first.ToString()));
        Assert.Throws<FormatException>(() => JobId.Parse("nope"));
        Assert.False(JobId.TryParse("nope", out _));
    }

    [Fact]
    public void A_null_transaction_or_negative_delay_is_rejected_up_front()
    {
        Assert.Throws<ArgumentNullException>(() => JobCompletion.CompleteWithTx(null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => JobCompletion.RescheduleIn(TimeSpan.FromSeconds(-1)));
    }
}
