using System.Collections.Concurrent;
using System.Net;
using Job.Telemetry;
using Job.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Job.Tests.Worker;

/// <summary>
/// OTLP export as a collector receives it: over http/protobuf, one <c>Otlp:Endpoint</c> is the base
/// address, and metrics and traces each go to the path the protocol gives them.
/// </summary>
public sealed class OtlpExportTests
{
    [Theory]
    [InlineData("")]
    [InlineData("/")]
    [InlineData("/collector")]
    [InlineData("/collector/?tenant=a")]
    public async Task Over_http_protobuf_metrics_and_traces_go_to_their_signal_paths_under_the_endpoint(string basePath)
    {
        var port = global::Job.Hosting.FreePorts.Take(1)[0];
        var received = new ConcurrentQueue<string>();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var serving = Task.Run(async () =>
        {
            while (listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await listener.GetContextAsync();
                }
                catch (HttpListenerException)
                {
                    return;
                }
                catch (ObjectDisposedException)
                {
                    return;
                }

                received.Enqueue($"{context.Request.HttpMethod} {context.Request.Url!.AbsolutePath}");
                context.Response.StatusCode = 200;
                context.Response.Close();
            }
        });

        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Otlp:Endpoint"] = $"http://127.0.0.1:{port}{basePath}",
            ["Otlp:Protocol"] = "http/protobuf",
            ["Metrics:Prometheus"] = "false",
        });
        builder.AddJobWorkerMetrics();
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            using (JobTelemetry.Source.StartActivity("otlp-test"))
            {
                JobTelemetry.Claimed.Add(1);
            }

            Assert.True(host.Services.GetRequiredService<TracerProvider>().ForceFlush(10_000), "the traces were not exported");
            Assert.True(host.Services.GetRequiredService<MeterProvider>().ForceFlush(10_000), "the metrics were not exported");
        }
        finally
        {
            await host.StopAsync();
            listener.Stop();
            await serving;
        }

        var prefix = basePath.Split('?')[0].TrimEnd('/');
        Assert.Contains($"POST {prefix}/v1/traces", received);
        Assert.Contains($"POST {prefix}/v1/metrics", received);
        Assert.All(received, r => Assert.Matches(@"^POST .*/v1/(traces|metrics)$", r));
    }
}
