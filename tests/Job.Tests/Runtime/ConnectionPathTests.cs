using System.Net;
using Job.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Orleans.Configuration;

namespace Job.Tests.Runtime;

/// <summary>
/// Every way of handing Job its database, against a server that checks passwords: the test
/// database belongs to a role that must log in with its password (<see cref="PostgresServer"/>).
/// A shared <see cref="NpgsqlDataSource"/> no longer exposes its password through its connection
/// string, so any part that rebuilt connections from that string failed at start.
/// </summary>
public sealed class ConnectionPathTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    [Fact]
    public async Task The_test_role_cannot_log_in_without_its_password()
    {
        var withoutPassword = new NpgsqlConnectionStringBuilder(db.ConnectionString) { Password = null, Pooling = false }.ConnectionString;
        await using var connection = new NpgsqlConnection(withoutPassword);
        var ex = await Assert.ThrowsAnyAsync<NpgsqlException>(() => connection.OpenAsync());
        Assert.Contains("password", ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task The_facade_with_a_wrong_password_fails_with_PostgreSQLs_error_before_its_silo_starts()
    {
        var wrongPassword = new NpgsqlConnectionStringBuilder(db.ConnectionString) { Password = "not-the-password" }.ConnectionString;
        var logs = new LogCapture();
        var config = JobSvcConfig.Builder().PgCon(wrongPassword).Logging(b => b.AddProvider(logs)).Build();

        var ex = await Assert.ThrowsAsync<PostgresException>(() => Jobs.InitAsync(config));
        Assert.Equal(PostgresErrorCodes.InvalidPassword, ex.SqlState);
        Assert.Empty(logs.Entries); // the silo never started, so Orleans logged no failed start
    }

    [Fact]
    public async Task The_facade_runs_jobs_on_a_shared_data_source()
    {
        await using var dataSource = NpgsqlDataSource.Create(db.ConnectionString);
        Assert.DoesNotContain("Password", dataSource.ConnectionString, StringComparison.OrdinalIgnoreCase);

        var config = JobSvcConfig.Builder().DataSource(dataSource).ExecMigrations(true)
            .PollerConfig(new JobPollerConfig { ShutdownTimeout = TimeSpan.FromSeconds(2) })
            .Build();
        await using var jobs = await Jobs.InitAsync(config);
        var spawner = jobs.AddInitializer(TestInitializer.Completing($"ds-facade-{Guid.NewGuid():N}"));
        await jobs.StartPollAsync();

        var job = await spawner.SpawnAsync(JobId.New(), new TestConfig(1));
        var done = await jobs.AwaitCompletionAsync(job.Id, TimeSpan.FromSeconds(60));
        Assert.Equal(JobStatus.Completed, done.Status);
    }

    [Fact]
    public async Task An_AddJobs_host_runs_jobs_on_a_shared_data_source()
    {
        await using var dataSource = NpgsqlDataSource.Create(db.ConnectionString);
        var type = $"ds-host-{Guid.NewGuid():N}";
        var ports = global::Job.Hosting.FreePorts.Take(2);
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.UseOrleans(silo =>
        {
            silo.ConfigureEndpoints(IPAddress.Loopback, ports[0], ports[1], listenOnAnyHostAddress: false);
            silo.Configure<ClusterOptions>(o => o.ClusterId = $"ds-{Guid.NewGuid():N}");
            silo.AddJobs(o =>
            {
                o.DataSource = dataSource;
                o.ExecMigrations = true;
            });
        });
        builder.Services.AddJobInitializer(TestInitializer.Completing(type));
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var spawner = host.Services.GetRequiredService<JobSpawner<TestConfig>>();
            var job = await spawner.SpawnAsync(JobId.New(), new TestConfig(2));
            var done = await host.Services.GetRequiredService<IGrainFactory>().GetGrain<IJobGrain>(job.Id.Value)
                .AwaitCompletionAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(JobStatus.Completed, done.Status);
        }
        finally
        {
            await host.StopAsync();
        }
    }
}
