package soulbox

import (
	"net/url"
	"strings"
)

// route is one native route of api/openapi.yaml: its method and its path
// template exactly as the spec writes it. Every request the SDK makes goes
// through one of these (Client.do expands the template), so the table below is
// the list of routes the SDK implements.
type route struct {
	method string
	path   string
}

var (
	rHealth           = &route{"GET", "/health"}
	rMetrics          = &route{"GET", "/metrics"}
	rLanguages        = &route{"GET", "/api/languages"}
	rCluster          = &route{"GET", "/api/cluster"}
	rWS               = &route{"GET", "/api/ws"}
	rExecute          = &route{"POST", "/api/execute"}
	rSubmit           = &route{"POST", "/api/executions"}
	rListExecutions   = &route{"GET", "/api/executions"}
	rGetExecution     = &route{"GET", "/api/executions/{id}"}
	rAudit            = &route{"GET", "/api/audit"}
	rCreateShare      = &route{"POST", "/api/shares"}
	rGetShare         = &route{"GET", "/api/shares/{id}"}
	rTemplates        = &route{"GET", "/api/templates"}
	rCreateSandbox    = &route{"POST", "/api/sandboxes"}
	rListSandboxes    = &route{"GET", "/api/sandboxes"}
	rGetSandbox       = &route{"GET", "/api/sandboxes/{id}"}
	rKillSandbox      = &route{"DELETE", "/api/sandboxes/{id}"}
	rSetTimeout       = &route{"POST", "/api/sandboxes/{id}/timeout"}
	rPause            = &route{"POST", "/api/sandboxes/{id}/pause"}
	rResume           = &route{"POST", "/api/sandboxes/{id}/resume"}
	rRunCommand       = &route{"POST", "/api/sandboxes/{id}/commands"}
	rListCommands     = &route{"GET", "/api/sandboxes/{id}/commands"}
	rGetCommand       = &route{"GET", "/api/sandboxes/{id}/commands/{pid}"}
	rCommandStdin     = &route{"POST", "/api/sandboxes/{id}/commands/{pid}/stdin"}
	rCommandSignal    = &route{"POST", "/api/sandboxes/{id}/commands/{pid}/signal"}
	rReadFile         = &route{"GET", "/api/sandboxes/{id}/files"}
	rWriteFile        = &route{"PUT", "/api/sandboxes/{id}/files"}
	rUploadFiles      = &route{"POST", "/api/sandboxes/{id}/files"}
	rRemoveFile       = &route{"DELETE", "/api/sandboxes/{id}/files"}
	rListFiles        = &route{"GET", "/api/sandboxes/{id}/files/list"}
	rStatFile         = &route{"GET", "/api/sandboxes/{id}/files/stat"}
	rWatchFiles       = &route{"GET", "/api/sandboxes/{id}/files/watch"}
	rMkdir            = &route{"POST", "/api/sandboxes/{id}/files/mkdir"}
	rMove             = &route{"POST", "/api/sandboxes/{id}/files/move"}
	rCreateContext    = &route{"POST", "/api/sandboxes/{id}/contexts"}
	rListContexts     = &route{"GET", "/api/sandboxes/{id}/contexts"}
	rDeleteContext    = &route{"DELETE", "/api/sandboxes/{id}/contexts/{ctx}"}
	rRestartContext   = &route{"POST", "/api/sandboxes/{id}/contexts/{ctx}/restart"}
	rInterruptContext = &route{"POST", "/api/sandboxes/{id}/contexts/{ctx}/interrupt"}
	rRunCode          = &route{"POST", "/api/sandboxes/{id}/execute"}

	rDeployFunction      = &route{"POST", "/api/functions"}
	rListFunctions       = &route{"GET", "/api/functions"}
	rGetFunction         = &route{"GET", "/api/functions/{name}"}
	rDeleteFunction      = &route{"DELETE", "/api/functions/{name}"}
	rFunctionVersions    = &route{"GET", "/api/functions/{name}/versions"}
	rRollbackFunction    = &route{"POST", "/api/functions/{name}/rollback"}
	rSetFunctionAlias    = &route{"PUT", "/api/functions/{name}/aliases/{alias}"}
	rDeleteFunctionAlias = &route{"DELETE", "/api/functions/{name}/aliases/{alias}"}
	rFunctionLogs        = &route{"GET", "/api/functions/{name}/logs"}
	rInvokeAsync         = &route{"POST", "/api/functions/{name}/invocations"}
	rGetInvocation       = &route{"GET", "/api/functions/{name}/invocations/{id}"}

	// A function's invocation over plain HTTP: any of these methods, without and
	// with a path after the function's name.
	rInvokeGet        = &route{"GET", "/fn/{name}"}
	rInvokePost       = &route{"POST", "/fn/{name}"}
	rInvokePut        = &route{"PUT", "/fn/{name}"}
	rInvokePatch      = &route{"PATCH", "/fn/{name}"}
	rInvokeDelete     = &route{"DELETE", "/fn/{name}"}
	rInvokeGetPath    = &route{"GET", "/fn/{name}/{path}"}
	rInvokePostPath   = &route{"POST", "/fn/{name}/{path}"}
	rInvokePutPath    = &route{"PUT", "/fn/{name}/{path}"}
	rInvokePatchPath  = &route{"PATCH", "/fn/{name}/{path}"}
	rInvokeDeletePath = &route{"DELETE", "/fn/{name}/{path}"}
)

// invokeRoutes are the invocation routes by method: without and with a path.
var invokeRoutes = map[string][2]*route{
	"GET":    {rInvokeGet, rInvokeGetPath},
	"POST":   {rInvokePost, rInvokePostPath},
	"PUT":    {rInvokePut, rInvokePutPath},
	"PATCH":  {rInvokePatch, rInvokePatchPath},
	"DELETE": {rInvokeDelete, rInvokeDeletePath},
}

// routeTable lists every native route the SDK implements (a test compares it
// with api/openapi.yaml).
var routeTable = []*route{
	rHealth, rMetrics, rLanguages, rCluster, rWS, rExecute, rSubmit, rListExecutions,
	rGetExecution, rAudit, rCreateShare, rGetShare, rTemplates, rCreateSandbox, rListSandboxes, rGetSandbox, rKillSandbox,
	rSetTimeout, rPause, rResume, rRunCommand, rListCommands, rGetCommand, rCommandStdin,
	rCommandSignal, rReadFile, rWriteFile, rUploadFiles, rRemoveFile, rListFiles, rStatFile,
	rWatchFiles, rMkdir, rMove, rCreateContext, rListContexts, rDeleteContext,
	rRestartContext, rInterruptContext, rRunCode,
	rDeployFunction, rListFunctions, rGetFunction, rDeleteFunction, rFunctionVersions,
	rRollbackFunction, rSetFunctionAlias, rDeleteFunctionAlias, rFunctionLogs, rInvokeAsync,
	rGetInvocation, rInvokeGet, rInvokePost, rInvokePut, rInvokePatch, rInvokeDelete,
	rInvokeGetPath, rInvokePostPath, rInvokePutPath, rInvokePatchPath, rInvokeDeletePath,
}

// Routes returns the native API routes this SDK implements, as "METHOD /path"
// with the path templates of api/openapi.yaml (e.g. "GET /api/executions/{id}";
// a function's invocation is "GET /fn/{name}", "GET /fn/{name}/{path}", ...).
func Routes() []string {
	out := make([]string, len(routeTable))
	for i, r := range routeTable {
		out[i] = r.method + " " + r.path
	}
	return out
}

// expand fills the template's {param} segments, in order, with the escaped params.
func (r *route) expand(params []string) string {
	esc := make([]string, len(params))
	for i, v := range params {
		esc[i] = url.PathEscape(v)
	}
	return r.fill(esc)
}

// fill fills the template's {param} segments, in order, with params as they are.
func (r *route) fill(params []string) string {
	if len(params) == 0 {
		return r.path
	}
	var b strings.Builder
	p := r.path
	for _, v := range params {
		i := strings.IndexByte(p, '{')
		j := strings.IndexByte(p, '}')
		if i < 0 || j < i {
			break
		}
		b.WriteString(p[:i])
		b.WriteString(v)
		p = p[j+1:]
	}
	b.WriteString(p)
	return b.String()
}
