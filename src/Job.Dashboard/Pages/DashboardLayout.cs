using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Job.Dashboard;

/// <summary>
/// What every page shares: where the dashboard is mounted, the services a request uses, the header
/// (navigation, notices) and footer, the forms' antiforgery token and action buttons, and the state
/// badges. Pages are plain HTML built on the server (<see cref="Html"/>), one stylesheet and one small
/// script from the assembly; each list is a keyset page of an index range, so no page reads a big table whole.
/// </summary>
internal sealed class DashboardLayout(string prefix)
{
    /// <summary>Where the dashboard is mounted, under the application's path base ("" at the root).</summary>
    public string Prefix => prefix;

    /// <summary>The states in the order every page lists them.</summary>
    public static readonly JobStatus[] States = JobStateNames.Listed;

    /// <summary>The dashboard's own path in this request (path base and prefix).</summary>
    public string Root(HttpContext http) => http.Request.PathBase.Value + prefix;

    public static (JobDashboardOptions Options, JobAdmin Admin, DashboardStats Stats) Services(HttpContext http)
    {
        var sp = http.RequestServices;
        return (sp.GetRequiredService<IOptions<JobDashboardOptions>>().Value, sp.GetRequiredService<JobAdmin>(), sp.GetRequiredService<DashboardStats>());
    }

    public void Header(Html html, HttpContext http, JobDashboardOptions o, string current, string title)
    {
        var root = Root(http);
        html.Raw("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>")
            .Text(title).Raw(" · ").Text(o.Title).Raw("</title><link rel=\"stylesheet\" href=\"").Attr(root + "/assets/dashboard.css").Raw("\"><script src=\"")
            .Attr(root + "/assets/dashboard.js").Raw("\" defer></script></head><body><header><span class=\"brand\">").Text(o.Title).Raw("</span><nav>");
        foreach (var (key, href, text) in new[] { ("overview", root + "/", "Overview"), ("jobs", root + "/jobs", "Jobs"), ("types", root + "/types", "Types"), ("schedules", root + "/schedules", "Schedules"), ("silos", root + "/silos", "Silos") })
        {
            html.Raw("<a href=\"").Attr(href).Raw(key == current ? "\" class=\"current\">" : "\">").Raw(text).Raw("</a>");
        }

        html.Raw("</nav><span class=\"mode\">").Raw(o.AllowActions ? "actions on" : "read-only").Raw("</span></header><main>");
        var q = http.Request.Query;
        if (q["notice"].ToString() is { Length: > 0 } notice)
        {
            html.Raw("<div class=\"notice\" role=\"status\">").Text(notice).Raw("</div>");
        }

        if (q["error"].ToString() is { Length: > 0 } error)
        {
            html.Raw("<div class=\"notice error\" role=\"alert\">").Text(error).Raw("</div>");
        }
    }

    public static void Footer(Html html, HttpContext http) =>
        html.Raw("</main><footer>Times are UTC. Served ").Text(Html.Time(Now(http))).Raw(".</footer></body></html>");

    public static void Token(Html html, HttpContext http)
    {
        var tokens = http.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(http);
        html.Raw("<input type=\"hidden\" name=\"").Attr(tokens.FormFieldName).Raw("\" value=\"").Attr(tokens.RequestToken).Raw("\">");
    }

    public static void State(Html html, JobStatus status, bool parked)
    {
        var name = parked ? "parked" : JobStateNames.Name(status);
        html.Raw("<span class=\"state ").Raw(name).Raw("\" data-state=\"").Raw(name).Raw("\">").Raw(name).Raw("</span>");
    }

    public static IResult Page(Html html, int status = 200)
    {
        return new HtmlResult(html.ToString(), status);
    }

    private sealed class HtmlResult(string html, int status) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = status;
            httpContext.Response.ContentType = "text/html; charset=utf-8";
            httpContext.Response.Headers.CacheControl = "no-store";
            return httpContext.Response.WriteAsync(html);
        }
    }

    public static void Fact(Html html, string name, string value) => html.Raw("<dt>").Text(name).Raw("</dt><dd>").Text(value).Raw("</dd>");

    /// <summary>A fact that is a time, with its age.</summary>
    public static void FactWhen(Html html, string name, DateTimeOffset? at, DateTimeOffset now) =>
        html.Raw("<dt>").Text(name).Raw("</dt><dd>").When(at, now).Raw("</dd>");

    /// <summary>Now, by the clock the job system writes its times with (<see cref="JobClient.Clock"/>), so
    /// that ages agree with the times shown.</summary>
    public static DateTimeOffset Now(HttpContext http) => http.RequestServices.GetRequiredService<JobClient>().Clock.Now;

    public static void ActionButton(Html html, HttpContext http, string action, string returnTo, string text, string name, string? confirm, string css,
        (string Name, string Value)? field = null)
    {
        html.Raw("<form method=\"post\" class=\"inline\" action=\"").Attr(action).Raw("\">");
        Token(html, http);
        if (field is { } f)
        {
            html.Raw("<input type=\"hidden\" name=\"").Attr(f.Name).Raw("\" value=\"").Attr(f.Value).Raw("\">");
        }

        html.Raw("<input type=\"hidden\" name=\"return\" value=\"").Attr(returnTo).Raw("\"><button type=\"submit\" data-action=\"").Raw(name).Raw("\" class=\"").Raw(css).Raw("\"");
        if (confirm is not null)
        {
            html.Raw(" data-confirm=\"").Attr(confirm).Raw("\"");
        }

        html.Raw(">").Text(text).Raw("</button></form>");
    }
}
