package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/telecart/telecart/internal/cli"
	"github.com/telecart/telecart/internal/config"
	"github.com/telecart/telecart/internal/signal"
	"github.com/telecart/telecart/internal/workerauth"
)

// kubeDir is the kustomize base, and exampleDir the overlay that holds
// its secrets (from env files made from examples) and names the image.
const (
	kubeDir    = "kubernetes"
	exampleDir = "kubernetes-example"
)

// object is what every Kubernetes type here is: metadata and a kind.
type object interface {
	metav1.Object
	runtime.Object
}

// kinds are the types the manifests may hold, by "apiVersion kind": any
// other is a mistake (a misspelt kind, a removed API version).
var kinds = map[string]func() object{
	"v1 Namespace":                       func() object { return &corev1.Namespace{} },
	"v1 Service":                         func() object { return &corev1.Service{} },
	"v1 ConfigMap":                       func() object { return &corev1.ConfigMap{} },
	"v1 Secret":                          func() object { return &corev1.Secret{} },
	"apps/v1 Deployment":                 func() object { return &appsv1.Deployment{} },
	"apps/v1 StatefulSet":                func() object { return &appsv1.StatefulSet{} },
	"apps/v1 DaemonSet":                  func() object { return &appsv1.DaemonSet{} },
	"policy/v1 PodDisruptionBudget":      func() object { return &policyv1.PodDisruptionBudget{} },
	"networking.k8s.io/v1 NetworkPolicy": func() object { return &networkingv1.NetworkPolicy{} },
}

// decode decodes one YAML document strictly into the type its apiVersion
// and kind name: an unknown kind, an unknown or misplaced field, a value
// of the wrong type or a key given twice is an error.
func decode(doc []byte) (object, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, fmt.Errorf("not a YAML object: %w", err)
	}
	if tm.APIVersion == "" || tm.Kind == "" {
		return nil, errors.New("no apiVersion or no kind")
	}
	newObject := kinds[tm.APIVersion+" "+tm.Kind]
	if newObject == nil {
		return nil, fmt.Errorf("unknown kind %s %s", tm.APIVersion, tm.Kind)
	}
	// As the API server decodes: YAML made JSON (a key given twice is an
	// error), then JSON decoded case-sensitively with every unknown
	// field an error, named by its path.
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", tm.APIVersion, tm.Kind, err)
	}
	obj := newObject()
	strict, err := sigsjson.UnmarshalStrict(js, obj, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err = errors.Join(append([]error{err}, strict...)...); err != nil {
		return nil, fmt.Errorf("%s %s: %w", tm.APIVersion, tm.Kind, err)
	}
	if obj.GetName() == "" {
		return nil, fmt.Errorf("%s %s without a name", tm.APIVersion, tm.Kind)
	}
	return obj, nil
}

// documents splits a multi-document YAML stream, leaving out documents of
// nothing but comments.
func documents(r io.Reader) ([][]byte, error) {
	yr := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var docs [][]byte
	for {
		doc, err := yr.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		var v any
		if err := yaml.Unmarshal(doc, &v); err != nil {
			return nil, err
		}
		if v != nil {
			docs = append(docs, doc)
		}
	}
}

// kustomization is the part of kustomization.yaml the base and the
// example use; decoded strictly, so that a field this test does not know
// of is looked at.
type kustomization struct {
	APIVersion         string      `json:"apiVersion"`
	Kind               string      `json:"kind"`
	Namespace          string      `json:"namespace"`
	Resources          []string    `json:"resources"`
	Images             []image     `json:"images"`
	ConfigMapGenerator []generator `json:"configMapGenerator"`
	SecretGenerator    []generator `json:"secretGenerator"`
}

type image struct {
	Name    string `json:"name"`
	NewName string `json:"newName"`
	NewTag  string `json:"newTag"`
}

type generator struct {
	Name  string   `json:"name"`
	Files []string `json:"files"`
	Envs  []string `json:"envs"`
}

func readKustomization(t testing.TB, dir string) kustomization {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	if err := yaml.UnmarshalStrict(data, &k); err != nil {
		t.Fatalf("%s/kustomization.yaml: %v", dir, err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Fatalf("kustomization.yaml is a %s %s", k.APIVersion, k.Kind)
	}
	return k
}

// TestKustomization: every resource kustomization.yaml lists is there, and
// every YAML file of the folder is listed (a manifest left out is never
// applied, and never checked either); the generators' files are there,
// each env file as its example (the filled-in one is the operator's);
// the example overlays the base.
func TestKustomization(t *testing.T) {
	k := readKustomization(t, kubeDir)
	if len(k.SecretGenerator) > 0 {
		t.Error("the base generates Secrets: an overlay would have to make their files, whatever its own secrets")
	}
	listed := map[string]bool{"kustomization.yaml": true}
	for _, r := range k.Resources {
		if _, err := os.Stat(filepath.Join(kubeDir, r)); err != nil {
			t.Errorf("kustomization.yaml lists %s: %v", r, err)
		}
		listed[r] = true
	}
	entries, err := os.ReadDir(kubeDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if ext := path.Ext(e.Name()); (ext == ".yaml" || ext == ".yml") && !listed[e.Name()] {
			t.Errorf("%s is in %s but not in kustomization.yaml's resources", e.Name(), kubeDir)
		}
	}
	for _, g := range k.ConfigMapGenerator {
		for _, f := range g.Files {
			if _, err := os.Stat(filepath.Join(kubeDir, f)); err != nil {
				t.Errorf("generator %s: %v", g.Name, err)
			}
		}
	}
	ex := readKustomization(t, exampleDir)
	if ex.Namespace != k.Namespace {
		t.Errorf("the example's namespace %q, the base's %q: its Secrets would be where no pod reads them", ex.Namespace, k.Namespace)
	}
	if !slices.Equal(ex.Resources, []string{"../" + kubeDir}) {
		t.Errorf("the example's resources are %q, want the base alone", ex.Resources)
	}
	for _, g := range ex.SecretGenerator {
		for _, f := range g.Envs {
			if _, err := os.Stat(filepath.Join(exampleDir, f+".example")); err != nil {
				t.Errorf("the example's generator %s: no example of %s: %v", g.Name, f, err)
			}
		}
	}
}

// TestManifestsStrict decodes every document of every resource strictly.
func TestManifestsStrict(t *testing.T) {
	objs := readManifests(t)
	if len(objs) == 0 {
		t.Fatal("no manifests")
	}
}

// TestDecodeRefuses: the decoding above fails on each kind of mistake it
// is there to catch, so that its passing means something.
func TestDecodeRefuses(t *testing.T) {
	for _, tt := range []struct {
		name, doc, say string
	}{
		{"unknown field", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {replicas: 3, replica: 2}\n", `unknown field "spec.replica"`},
		{"misplaced field", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {containers: []}\n", `unknown field "spec.containers"`},
		{"unknown field deep down", "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: a}\nspec:\n  template:\n    spec:\n      containers:\n        - name: a\n          readinessProbe: {httpGet: {path: /readyz, port: 80, host_name: x}}\n", `unknown field "spec.template.spec.containers[0].readinessProbe.httpGet.host_name"`},
		{"unknown kind", "apiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: a}\n", "unknown kind apps/v1 Deploymnet"},
		{"old API version", "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: a}\n", "unknown kind policy/v1beta1 PodDisruptionBudget"},
		{"kind of another group", "apiVersion: v1\nkind: Deployment\nmetadata: {name: a}\n", "unknown kind v1 Deployment"},
		{"no kind", "apiVersion: v1\nmetadata: {name: a}\n", "no apiVersion or no kind"},
		{"field in the wrong case", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {Replicas: 3}\n", `unknown field "spec.Replicas"`},
		{"wrong type", "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: a}\nspec: {replicas: three}\n", "cannot unmarshal string"},
		{"key twice", "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {clusterIP: None, clusterIP: 10.0.0.1}\n", `"clusterIP" already set`},
		{"no name", "apiVersion: v1\nkind: Service\nmetadata: {}\n", "without a name"},
		{"not an object", "- a\n- b\n", "not a YAML object"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decode([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.say) {
				t.Errorf("decode: %v, want an error saying %q", err, tt.say)
			}
		})
	}
}

// FuzzDecode: no document makes the decoding panic.
func FuzzDecode(f *testing.F) {
	for _, r := range readKustomization(f, kubeDir).Resources {
		data, err := os.ReadFile(filepath.Join(kubeDir, r))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {replicas: [1]}\n"))
	f.Add([]byte("apiVersion: v1\nkind: Secret\nmetadata: {name: a}\ndata: {a: '!!'}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := documents(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, d := range docs {
			_, _ = decode(d)
		}
	})
}

// readManifests is every object of the base's resources, decoded strictly.
func readManifests(t *testing.T) []object {
	t.Helper()
	var objs []object
	for _, r := range readKustomization(t, kubeDir).Resources {
		f, err := os.Open(filepath.Join(kubeDir, r))
		if err != nil {
			t.Fatal(err)
		}
		docs, err := documents(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		for i, d := range docs {
			obj, err := decode(d)
			if err != nil {
				t.Errorf("%s, document %d: %v", r, i+1, err)
				continue
			}
			objs = append(objs, obj)
		}
	}
	return objs
}

// workload is a Deployment's, StatefulSet's or DaemonSet's pods.
type workload struct {
	name     string
	selector *metav1.LabelSelector
	pod      corev1.PodTemplateSpec
	replicas int
}

func workloads(objs []object) []workload {
	var ws []workload
	for _, o := range objs {
		switch o := o.(type) {
		case *appsv1.Deployment:
			ws = append(ws, workload{"Deployment " + o.Name, o.Spec.Selector, o.Spec.Template, int(ptrOr(o.Spec.Replicas, 1))})
		case *appsv1.StatefulSet:
			ws = append(ws, workload{"StatefulSet " + o.Name, o.Spec.Selector, o.Spec.Template, int(ptrOr(o.Spec.Replicas, 1))})
		case *appsv1.DaemonSet:
			ws = append(ws, workload{"DaemonSet " + o.Name, o.Spec.Selector, o.Spec.Template, 0})
		}
	}
	return ws
}

func ptrOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

func find[T object](objs []object, name string) T {
	for _, o := range objs {
		if o, ok := o.(T); ok && o.GetName() == name {
			return o
		}
	}
	var zero T
	return zero
}

// selecting are the workloads whose pods sel selects.
func selecting(ws []workload, sel labels.Selector) []workload {
	var out []workload
	for _, w := range ws {
		if sel.Matches(labels.Set(w.pod.Labels)) {
			out = append(out, w)
		}
	}
	return out
}

func selector(t *testing.T, what string, ls *metav1.LabelSelector) labels.Selector {
	t.Helper()
	if ls == nil || (len(ls.MatchLabels) == 0 && len(ls.MatchExpressions) == 0) {
		t.Fatalf("%s: an empty selector, which selects every pod", what)
	}
	sel, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return sel
}

// TestSelectors: every workload's selector selects its own pods and no
// other workload's; every Service, PodDisruptionBudget and NetworkPolicy
// selects some workload's pods, and a Service's target ports are ports of
// those pods.
func TestSelectors(t *testing.T) {
	objs := readManifests(t)
	ws := workloads(objs)
	for _, w := range ws {
		got := selecting(ws, selector(t, w.name, w.selector))
		if len(got) != 1 || got[0].name != w.name {
			t.Errorf("%s's selector selects %d workloads' pods, want its own alone", w.name, len(got))
		}
	}
	for _, o := range objs {
		switch o := o.(type) {
		case *corev1.Service:
			what := "Service " + o.Name
			got := selecting(ws, selector(t, what, &metav1.LabelSelector{MatchLabels: o.Spec.Selector}))
			if len(got) != 1 {
				t.Errorf("%s selects %d workloads' pods, want one", what, len(got))
				continue
			}
			for _, p := range o.Spec.Ports {
				if _, ok := containerPort(got[0].pod.Spec.Containers, p.TargetPort, p.Protocol); !ok {
					t.Errorf("%s: port %s's target %s is no port of %s's pods", what, p.Name, p.TargetPort.String(), got[0].name)
				}
			}
		case *policyv1.PodDisruptionBudget:
			what := "PodDisruptionBudget " + o.Name
			if len(selecting(ws, selector(t, what, o.Spec.Selector))) != 1 {
				t.Errorf("%s selects no workload's pods, or several", what)
			}
		case *networkingv1.NetworkPolicy:
			what := "NetworkPolicy " + o.Name
			got := selecting(ws, selector(t, what, &o.Spec.PodSelector))
			if len(got) != 1 {
				t.Errorf("%s selects no workload's pods, or several", what)
				continue
			}
			for _, in := range o.Spec.Ingress {
				for _, from := range in.From {
					if from.PodSelector != nil && len(selecting(ws, selector(t, what+"'s from", from.PodSelector))) == 0 {
						t.Errorf("%s lets in pods that no workload has", what)
					}
				}
				for _, p := range in.Ports {
					if p.Port != nil {
						if _, ok := containerPort(got[0].pod.Spec.Containers, *p.Port, ptrOr(p.Protocol, corev1.ProtocolTCP)); !ok {
							t.Errorf("%s: port %s is no port of %s's pods", what, p.Port.String(), got[0].name)
						}
					}
				}
			}
		}
	}
}

// containerPort is the number of port p (a name, or a number) among the
// containers' ports of protocol proto.
func containerPort(cs []corev1.Container, p intstr.IntOrString, proto corev1.Protocol) (int, bool) {
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	for _, c := range cs {
		for _, cp := range c.Ports {
			if cp.Protocol == "" {
				cp.Protocol = corev1.ProtocolTCP
			}
			if cp.Protocol != proto {
				continue
			}
			if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && int(cp.ContainerPort) == p.IntValue()) {
				return int(cp.ContainerPort), true
			}
		}
	}
	return 0, false
}

// plausible are the values the downward API gives, as a pod on a game
// node would see them.
var plausible = map[string]string{
	"spec.nodeName": "game-node-1.example.org",
	"status.hostIP": "203.0.113.7",
	"metadata.name": "nats-0",
}

// secretValues are the keys of each Secret the example generates, with
// the values of its example env file.
func secretValues(t *testing.T) map[string]map[string]string {
	t.Helper()
	secrets := map[string]map[string]string{}
	for _, g := range readKustomization(t, exampleDir).SecretGenerator {
		secrets[g.Name] = map[string]string{}
		for _, f := range g.Envs {
			for _, line := range lines(t, filepath.Join(exampleDir, f+".example")) {
				if line == "" || strings.HasPrefix(line, "#") {
					continue
				}
				key, v, ok := strings.Cut(line, "=")
				if !ok {
					t.Fatalf("%s.example: %q is not KEY=value", f, line)
				}
				secrets[g.Name][key] = v
			}
		}
	}
	return secrets
}

var envRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// environment is a container's environment as the kubelet makes it:
// fieldRefs from the downward API (plausible values), secretKeyRefs from
// the generated Secrets (their examples' values), and $(NAME) replaced
// with an earlier variable's value. A reference to a Secret, key or
// field that is not there is an error, as it would keep the pod from
// starting.
func environment(c corev1.Container, secrets map[string]map[string]string) (map[string]string, error) {
	if len(c.EnvFrom) > 0 {
		return nil, errors.New("envFrom: name each variable, so that it can be checked")
	}
	env := map[string]string{}
	for _, e := range c.Env {
		v := e.Value
		switch from := e.ValueFrom; {
		case from == nil:
			v = envRef.ReplaceAllStringFunc(v, func(ref string) string {
				name := envRef.FindStringSubmatch(ref)[1]
				if val, ok := env[name]; ok {
					return val
				}
				return ref // as the kubelet leaves it
			})
		case from.FieldRef != nil:
			var ok bool
			if v, ok = plausible[from.FieldRef.FieldPath]; !ok {
				return nil, fmt.Errorf("%s: a field this test has no value for: %s", e.Name, from.FieldRef.FieldPath)
			}
		case from.SecretKeyRef != nil:
			s, ok := secrets[from.SecretKeyRef.Name]
			if !ok {
				return nil, fmt.Errorf("%s: no Secret %s", e.Name, from.SecretKeyRef.Name)
			}
			if v, ok = s[from.SecretKeyRef.Key]; !ok {
				if ptrOr(from.SecretKeyRef.Optional, false) {
					continue // unset, as the kubelet leaves it
				}
				return nil, fmt.Errorf("%s: Secret %s has no key %s", e.Name, from.SecretKeyRef.Name, from.SecretKeyRef.Key)
			}
		default:
			return nil, fmt.Errorf("%s: a valueFrom this test does not know", e.Name)
		}
		env[e.Name] = v
	}
	return env, nil
}

// expand replaces $(NAME) in s as the kubelet does in args.
func expand(s string, env map[string]string) string {
	return envRef.ReplaceAllStringFunc(s, func(ref string) string {
		if v, ok := env[envRef.FindStringSubmatch(ref)[1]]; ok {
			return v
		}
		return ref
	})
}

// telecartContainer is a container of the Telecart image, with the command
// it runs and its environment.
type telecartContainer struct {
	workload workload
	c        corev1.Container
	command  string
	env      map[string]string
	cfg      config.Config
}

// telecartContainers are the containers (init containers too) of the
// Telecart image, with their settings applied; every TELECART_* variable
// must be a setting.
func telecartContainers(t *testing.T, objs []object) []telecartContainer {
	t.Helper()
	secrets := secretValues(t)
	var out []telecartContainer
	for _, w := range workloads(objs) {
		for _, c := range append(slices.Clone(w.pod.Spec.InitContainers), w.pod.Spec.Containers...) {
			if !strings.Contains(c.Image, "telecart") {
				continue
			}
			what := w.name + ", container " + c.Name
			// The image's entrypoint is telecart: it is the first process,
			// and the kubelet's SIGTERM reaches it (a worker drains on it).
			if len(c.Command) > 0 || len(c.Args) == 0 {
				t.Errorf("%s: want the image's entrypoint (no command) and the subcommand as the first argument", what)
				continue
			}
			env, err := environment(c, secrets)
			if err != nil {
				t.Errorf("%s: %v", what, err)
				continue
			}
			var environ []string
			for k, v := range env {
				environ = append(environ, k+"="+v)
			}
			if unknown := config.UnknownVariables(environ); len(unknown) > 0 {
				t.Errorf("%s: variables that are no setting: %q", what, unknown)
			}
			cfg := config.Default()
			if err := cfg.ApplyEnv(func(k string) string { return env[k] }); err != nil {
				t.Errorf("%s: %v", what, err)
				continue
			}
			out = append(out, telecartContainer{workload: w, c: c, command: c.Args[0], env: env, cfg: cfg})
		}
	}
	return out
}

// TestTelecartSettings: each Telecart container's settings, with the
// Secrets' example values and the downward API's plausible ones, are
// valid for the command it runs, and its probes ask the listener that
// command serves for /healthz and /readyz.
func TestTelecartSettings(t *testing.T) {
	objs := readManifests(t)
	cs := telecartContainers(t, objs)
	seen := map[string]bool{}
	for _, tc := range cs {
		what := tc.workload.name + ", container " + tc.c.Name
		seen[tc.command] = true
		switch tc.command {
		case "coordinator":
			if err := tc.cfg.Validate(config.Coordinator); err != nil {
				t.Errorf("%s: %v", what, err)
			}
			if len(tc.cfg.WorkerSecret) == 0 {
				t.Errorf("%s: no worker_secret: the coordinator would not start", what)
			}
			checkProbes(t, what, tc.c, tc.cfg.Listen)
		case "worker":
			if err := tc.cfg.Validate(config.Worker); err != nil {
				t.Errorf("%s: %v", what, err)
			}
			if tc.cfg.WorkerToken == "" && tc.cfg.WorkerTokenFile == "" {
				t.Errorf("%s: no credential: the worker would not start", what)
			}
			if tc.cfg.S3.Endpoint == "" {
				t.Errorf("%s: no S3 bucket: saves would stay on each node", what)
			}
			checkProbes(t, what, tc.c, tc.cfg.PingListen)
		case "worker-token":
			for _, s := range tc.cfg.WorkerSecret {
				if err := workerauth.CheckSecret(s); err != nil {
					t.Errorf("%s: the example's secret: %v", what, err)
				}
			}
			if len(tc.cfg.WorkerSecret) == 0 {
				t.Errorf("%s: no worker_secret to make the credential with", what)
			}
		default:
			t.Errorf("%s runs telecart %s, which this test does not know", what, tc.command)
		}
	}
	for _, cmd := range []string{"coordinator", "worker", "worker-token"} {
		if !seen[cmd] {
			t.Errorf("no container runs telecart %s", cmd)
		}
	}
}

// checkProbes: readiness asks /readyz and liveness /healthz, on the port
// of listen (the command's listener) and a port the container declares.
func checkProbes(t *testing.T, what string, c corev1.Container, listen string) {
	t.Helper()
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		t.Errorf("%s: its listener %q: %v", what, listen, err)
		return
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"readinessProbe", c.ReadinessProbe, "/readyz"}, {"livenessProbe", c.LivenessProbe, "/healthz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s: no %s with httpGet", what, p.name)
			continue
		}
		g := p.probe.HTTPGet
		n, ok := containerPort([]corev1.Container{c}, g.Port, corev1.ProtocolTCP)
		if !ok {
			t.Errorf("%s: %s's port %s is not one of the container's", what, p.name, g.Port.String())
		}
		if strconv.Itoa(n) != port || g.Path != p.path || (g.Scheme != "" && g.Scheme != corev1.URISchemeHTTP) {
			t.Errorf("%s: %s asks %s on port %d, want %s on %s's port %s", what, p.name, g.Path, n, p.path, listen, port)
		}
	}
}

// TestWorkerPod: the worker's pod is on the node's network with the
// cluster's DNS, declares the UDP and ping ports it listens on, gives its
// games up to an hour to end once it drains (TestWorkerPreStop), dials
// the coordinators' Service on its port, and reads the credential its
// init container writes, made for its node.
func TestWorkerPod(t *testing.T) {
	objs := readManifests(t)
	cs := telecartContainers(t, objs)
	var worker, token *telecartContainer
	for i := range cs {
		switch cs[i].command {
		case "worker":
			worker = &cs[i]
		case "worker-token":
			token = &cs[i]
		}
	}
	if worker == nil || token == nil {
		t.Fatal("no worker, or no init container making its credential")
	}
	pod := worker.workload.pod.Spec
	if !pod.HostNetwork || pod.DNSPolicy != corev1.DNSClusterFirstWithHostNet {
		t.Errorf("worker: hostNetwork %v, dnsPolicy %q; want the node's network with the cluster's DNS", pod.HostNetwork, pod.DNSPolicy)
	}
	if n, ok := containerPort(pod.Containers, intstr.FromInt(worker.cfg.UDPPort), corev1.ProtocolUDP); !ok || n == 0 {
		t.Errorf("worker: its udp_port %d is no UDP port of the container's", worker.cfg.UDPPort)
	}
	if g := ptrOr(pod.TerminationGracePeriodSeconds, 30); g < 3600 {
		t.Errorf("worker: terminationGracePeriodSeconds %d: games have less than an hour to end once it drains", g)
	}
	// Its id is its node's, and every pod of the DaemonSet is on a node of its own.
	args := make([]string, len(token.c.Args))
	for i, a := range token.c.Args {
		args[i] = expand(a, token.env)
	}
	flagValue := func(name string) string {
		if i := slices.Index(args, name); i >= 0 && i+1 < len(args) {
			return args[i+1]
		}
		return ""
	}
	if id := flagValue("-id"); id != plausible["spec.nodeName"] {
		t.Errorf("the credential is made for %q, want the node's name", id)
	}
	file := flagValue("-o")
	if file == "" || file != worker.cfg.WorkerTokenFile {
		t.Errorf("the init container writes %q, the worker reads %q", file, worker.cfg.WorkerTokenFile)
	}
	if v1, v2 := mountOf(token.c, file), mountOf(worker.c, file); v1 == "" || v1 != v2 {
		t.Errorf("the credential's file is on volume %q for the init container and %q for the worker: want one volume", v1, v2)
	}
	// The init container's command, run here with its environment (the
	// file in a folder of the test's): it writes a credential for the
	// node that the coordinators' secret verifies.
	for k, v := range token.env {
		t.Setenv(k, v)
	}
	local := filepath.Join(t.TempDir(), filepath.Base(file))
	run := slices.Clone(args)
	run[slices.Index(run, "-o")+1] = local
	var stderr bytes.Buffer
	if code := cli.Run(context.Background(), run, io.Discard, &stderr); code != 0 {
		t.Fatalf("telecart %q: exit %d: %s", run, code, stderr.String())
	}
	data, err := os.ReadFile(local)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := workerauth.Verify(token.cfg.WorkerSecret, strings.TrimSpace(string(data))); err != nil || string(id) != plausible["spec.nodeName"] {
		t.Errorf("the init container made a credential for %q (%v), want the node's, %q", id, err, plausible["spec.nodeName"])
	}
	// The coordinator's address is its Service's name and port.
	u, err := url.Parse(worker.cfg.Coordinator)
	if err != nil {
		t.Fatal(err)
	}
	svc := find[*corev1.Service](objs, u.Hostname())
	if svc == nil {
		t.Fatalf("worker: dials %s, no Service of that name", u.Host)
	}
	var coordinator *telecartContainer
	for i := range cs {
		if cs[i].command == "coordinator" {
			coordinator = &cs[i]
		}
	}
	_, listenPort, _ := net.SplitHostPort(coordinator.cfg.Listen)
	ok := false
	for _, p := range svc.Spec.Ports {
		n, found := containerPort(coordinator.workload.pod.Spec.Containers, p.TargetPort, p.Protocol)
		ok = ok || (strconv.Itoa(int(p.Port)) == u.Port() && found && strconv.Itoa(n) == listenPort)
	}
	if !ok || u.Path != "/worker" {
		t.Errorf("worker: dials %s, which is not Service %s's port onto the coordinators' listener (%s) at /worker", worker.cfg.Coordinator, svc.Name, coordinator.cfg.Listen)
	}
}

// TestWorkerPreStop: the worker is drained before it is stopped by its
// preStop hook, telecart drain, which signals process 1 and returns once
// the worker's games have ended: the worker is process 1 (the image's
// entrypoint, in a process namespace of the container's own), the
// image's telecart is on the default PATH, and the hook, run here with
// the container's environment, parses its flags and settings and finds
// the worker's health on this machine. Run at a process that is no
// worker (this test's), it refuses to signal it.
func TestWorkerPreStop(t *testing.T) {
	var worker *telecartContainer
	for _, c := range telecartContainers(t, readManifests(t)) {
		if c.command == "worker" {
			worker = &c
		}
	}
	if worker == nil {
		t.Fatal("no worker")
	}
	l := worker.c.Lifecycle
	if l == nil || l.PreStop == nil || l.PreStop.Exec == nil {
		t.Fatal("worker: no preStop hook to drain it: the kubelet's SIGTERM drains it, with no hook waiting for its games")
	}
	cmd := l.PreStop.Exec.Command
	if len(cmd) < 2 || cmd[0] != "telecart" || cmd[1] != "drain" {
		t.Fatalf("worker: preStop runs %q, want telecart drain", cmd)
	}
	if ptrOr(worker.workload.pod.Spec.ShareProcessNamespace, false) {
		t.Error("worker: shareProcessNamespace: process 1 would be the pod's pause process, not the worker")
	}
	if containerfile, err := os.ReadFile("../Containerfile"); err != nil || !bytes.Contains(containerfile, []byte(" /usr/local/bin/telecart\n")) {
		t.Errorf("the image's telecart is not /usr/local/bin/telecart, on the default PATH of the hook (%v)", err)
	}
	host, _, err := net.SplitHostPort(worker.cfg.PingListen)
	if ip := net.ParseIP(host); err != nil || host != "" && (ip == nil || !ip.IsUnspecified() && !ip.IsLoopback()) {
		t.Errorf("worker: ping_listen %q: drain asks on loopback, where the worker does not listen", worker.cfg.PingListen)
	}
	for k, v := range worker.env {
		t.Setenv(k, v)
	}
	self := strconv.Itoa(os.Getpid())
	run := append(slices.Clone(cmd[1:]), "-pid", self)
	var stderr bytes.Buffer
	if code := cli.Run(context.Background(), run, io.Discard, &stderr); code != 1 || !strings.Contains(stderr.String(), "process "+self+" runs") {
		t.Errorf("telecart %q with the worker's environment: exit %d, %s; want 1, refusing to signal this test's process", run, code, stderr.String())
	}
}

// mountOf is the volume whose mount holds file in c.
func mountOf(c corev1.Container, file string) string {
	for _, m := range c.VolumeMounts {
		if strings.HasPrefix(file, strings.TrimSuffix(m.MountPath, "/")+"/") {
			return m.Name
		}
	}
	return ""
}

// TestNATS: nats.conf parses as the server reads it, with JetStream on,
// its store on the pod's volume, a route to each of the StatefulSet's
// pods by its stable name, the ports the Service and the probes use, and
// room for the coordinators' largest message; the coordinators name those
// servers; the image is the release of the server go.mod holds.
func TestNATS(t *testing.T) {
	objs := readManifests(t)
	sts := find[*appsv1.StatefulSet](objs, "nats")
	if sts == nil {
		t.Fatal("no StatefulSet nats")
	}
	svc := find[*corev1.Service](objs, sts.Spec.ServiceName)
	if svc == nil || svc.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Fatalf("StatefulSet nats: its serviceName %q is no headless Service", sts.Spec.ServiceName)
	}
	replicas := int(ptrOr(sts.Spec.Replicas, 1))
	if replicas != 3 {
		t.Errorf("NATS: %d servers, want 3", replicas)
	}
	pod := sts.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("NATS: %d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	// The configuration is the generated ConfigMap's key, mounted where
	// the server is told to read it.
	k := readKustomization(t, kubeDir)
	var confFile string
	for _, g := range k.ConfigMapGenerator {
		for _, v := range pod.Volumes {
			if v.ConfigMap != nil && v.ConfigMap.Name == g.Name && len(g.Files) == 1 {
				confFile = path.Join(mountPath(c, v.Name), path.Base(g.Files[0]))
			}
		}
	}
	if cmd := append(slices.Clone(c.Command), c.Args...); len(cmd) == 0 || cmd[0] != "nats-server" {
		t.Errorf("NATS runs %q, want nats-server", cmd)
	} else if i := slices.Index(cmd, "--config"); i < 0 || i+1 >= len(cmd) || cmd[i+1] != confFile {
		t.Errorf("NATS runs %q, its configuration is at %q", cmd, confFile)
	}
	env, err := environment(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range env {
		t.Setenv(k, v) // nats.conf's $POD_NAME
	}
	opts, err := server.ProcessConfigFile(filepath.Join(kubeDir, path.Base(confFile)))
	if err != nil {
		t.Fatalf("nats.conf: %v", err)
	}
	if opts.ServerName != plausible["metadata.name"] {
		t.Errorf("nats.conf: server_name %q, want the pod's name", opts.ServerName)
	}
	if !opts.JetStream {
		t.Error("nats.conf: JetStream is off")
	}
	if v := mountVolume(c, opts.StoreDir); v == "" || !slices.ContainsFunc(sts.Spec.VolumeClaimTemplates, func(p corev1.PersistentVolumeClaim) bool { return p.Name == v }) {
		t.Errorf("nats.conf: the JetStream store %q is on no volume claim of the StatefulSet's", opts.StoreDir)
	}
	var routes []string
	for _, r := range opts.Routes {
		routes = append(routes, r.String())
	}
	var want []string
	for i := range replicas {
		want = append(want, fmt.Sprintf("nats://%s-%d.%s:%d", sts.Name, i, svc.Name, opts.Cluster.Port))
	}
	if !slices.Equal(routes, want) {
		t.Errorf("nats.conf: routes %q, want %q", routes, want)
	}
	if opts.Cluster.Name == "" {
		t.Error("nats.conf: the cluster has no name")
	}
	for name, port := range map[string]int{"client": opts.Port, "cluster": opts.Cluster.Port, "monitor": opts.HTTPPort} {
		n, ok := containerPort([]corev1.Container{c}, intstr.FromString(name), corev1.ProtocolTCP)
		if !ok || n != port {
			t.Errorf("NATS: the container's port %s is %d, nats.conf's %d", name, n, port)
		}
		if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return int(p.Port) == port }) {
			t.Errorf("NATS: Service %s has no port %d (%s)", svc.Name, port, name)
		}
	}
	// Coordinators relay signalling messages of up to signal.MaxMessage
	// in an envelope (internal/cluster: twice as much).
	if opts.MaxPayload < 2*signal.MaxMessage {
		t.Errorf("nats.conf: max_payload %d, under the coordinators' largest message, %d", opts.MaxPayload, 2*signal.MaxMessage)
	}
	for _, p := range []*corev1.Probe{c.StartupProbe, c.ReadinessProbe, c.LivenessProbe} {
		if p == nil || p.HTTPGet == nil {
			t.Error("NATS: want startup, readiness and liveness probes over HTTP")
			continue
		}
		n, _ := containerPort([]corev1.Container{c}, p.HTTPGet.Port, corev1.ProtocolTCP)
		if n != opts.HTTPPort || !strings.HasPrefix(p.HTTPGet.Path, "/healthz") {
			t.Errorf("NATS: a probe asks %s on port %d, want /healthz on the monitoring port %d", p.HTTPGet.Path, n, opts.HTTPPort)
		}
	}
	// Lame duck mode on preStop signals the server through its pid file,
	// which must be on a volume (the root file system is read-only).
	if l := c.Lifecycle; l == nil || l.PreStop == nil || l.PreStop.Exec == nil || !slices.Contains(l.PreStop.Exec.Command, "ldm="+opts.PidFile) {
		t.Errorf("NATS: want a preStop hook that signals lame duck mode to the server of %s", opts.PidFile)
	}
	if mountVolume(c, opts.PidFile) == "" {
		t.Errorf("NATS: its pid file %s is on no volume", opts.PidFile)
	}
	// The coordinators name every server by its stable name (or the
	// Service too), on the client port: with no_advertise they learn of
	// no server they were not given, and they keep three copies of their
	// state only when given three servers or more (internal/cluster).
	names := map[string]bool{svc.Name: true}
	var pods []string
	for i := range replicas {
		pod := fmt.Sprintf("%s-%d.%s", sts.Name, i, svc.Name)
		names[pod] = true
		pods = append(pods, pod)
	}
	for _, tc := range telecartContainers(t, objs) {
		if tc.command != "coordinator" {
			continue
		}
		if len(tc.cfg.NATS) == 0 {
			t.Errorf("%s: no nats: each coordinator would run a NATS of its own, and share nothing", tc.workload.name)
		}
		for _, s := range tc.cfg.NATS {
			u, err := url.Parse(s)
			if err != nil || u.Scheme != "nats" || !names[u.Hostname()] || u.Port() != strconv.Itoa(opts.Port) {
				t.Errorf("%s: nats %q: want nats://NAME:%d, NAME one of %q", tc.workload.name, s, opts.Port, slices.Sorted(maps.Keys(names)))
			}
			pods = slices.DeleteFunc(pods, func(p string) bool { return p == u.Hostname() })
		}
		if len(pods) > 0 {
			t.Errorf("%s: nats names no %q", tc.workload.name, pods)
		}
	}
	// The image is the server go.mod holds, which the tests run.
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`github\.com/nats-io/nats-server/v2 v(\S+)`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod holds no nats-server")
	}
	if tag := c.Image[strings.LastIndex(c.Image, ":")+1:]; !strings.HasPrefix(tag, string(m[1])) {
		t.Errorf("NATS's image %s, want the release go.mod holds, %s", c.Image, m[1])
	}
}

// mountPath is where c mounts volume name.
func mountPath(c corev1.Container, name string) string {
	for _, m := range c.VolumeMounts {
		if m.Name == name {
			return m.MountPath
		}
	}
	return ""
}

// mountVolume is the volume c mounts at dir or above it.
func mountVolume(c corev1.Container, dir string) string {
	for _, m := range c.VolumeMounts {
		if dir == m.MountPath || strings.HasPrefix(dir, strings.TrimSuffix(m.MountPath, "/")+"/") {
			return m.Name
		}
	}
	return ""
}

// TestNames: names the API server would refuse are refused here: an
// object's, a Service's (a DNS label, its pods' names too), a
// container's, a volume's, a port's (15 characters at most), an
// environment variable's, a Secret key's. The API server validates far
// more; these are the mistakes a decoding cannot see.
func TestNames(t *testing.T) {
	objs := readManifests(t)
	check := func(what string, errs []string) {
		t.Helper()
		if len(errs) > 0 {
			t.Errorf("%s: %s", what, strings.Join(errs, "; "))
		}
	}
	for _, o := range objs {
		check("name "+o.GetName(), validation.IsDNS1123Subdomain(o.GetName()))
		if svc, ok := o.(*corev1.Service); ok {
			check("Service "+svc.Name, validation.IsDNS1035Label(svc.Name))
			for _, p := range svc.Spec.Ports {
				check("Service "+svc.Name+"'s port "+p.Name, validation.IsValidPortName(p.Name))
			}
		}
	}
	for _, w := range workloads(objs) {
		for _, v := range w.pod.Spec.Volumes {
			check(w.name+"'s volume "+v.Name, validation.IsDNS1123Label(v.Name))
		}
		for _, c := range append(slices.Clone(w.pod.Spec.InitContainers), w.pod.Spec.Containers...) {
			check(w.name+"'s container "+c.Name, validation.IsDNS1123Label(c.Name))
			for _, p := range c.Ports {
				check(w.name+"'s port "+p.Name, validation.IsValidPortName(p.Name))
				// On the node's network a port is the node's: the API
				// server wants the two numbers alike.
				if w.pod.Spec.HostNetwork && p.HostPort != 0 && p.HostPort != p.ContainerPort {
					t.Errorf("%s's port %s: hostPort %d on the node's network, containerPort %d", w.name, p.Name, p.HostPort, p.ContainerPort)
				}
			}
			for _, e := range c.Env {
				check(w.name+"'s variable "+e.Name, validation.IsEnvVarName(e.Name))
			}
		}
	}
	for name, keys := range secretValues(t) {
		for k := range keys {
			check("Secret "+name+"'s key "+k, validation.IsConfigMapKey(k))
		}
	}
}

// TestNoServiceLinks: no pod of the Telecart image has Kubernetes' Service
// variables, which for the Service telecart-coordinator would be
// TELECART_COORDINATOR_SERVICE_HOST and the like: of the settings'
// prefix, no setting, each warned of in the log.
func TestNoServiceLinks(t *testing.T) {
	for _, w := range workloads(readManifests(t)) {
		if w.pod.Spec.EnableServiceLinks == nil || *w.pod.Spec.EnableServiceLinks {
			t.Errorf("%s: enableServiceLinks is not false", w.name)
		}
	}
}

// TestImageUser: the pods of the Telecart image run as the uid its user
// has (Containerfile), which owns its home and /saves.
func TestImageUser(t *testing.T) {
	data, err := os.ReadFile("../Containerfile")
	if err != nil {
		t.Fatal(err)
	}
	id := func(re string) int64 {
		m := regexp.MustCompile(re).FindSubmatch(data)
		if m == nil {
			t.Fatalf("the Containerfile has no %s", re)
		}
		n, err := strconv.ParseInt(string(m[1]), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	uid, gid := id(`useradd [^\n]*--uid (\d+)`), id(`groupadd [^\n]*--gid (\d+)`)
	for _, w := range workloads(readManifests(t)) {
		if !slices.ContainsFunc(w.pod.Spec.Containers, func(c corev1.Container) bool { return strings.Contains(c.Image, "telecart") }) {
			continue
		}
		if sc := w.pod.Spec.SecurityContext; sc == nil || ptrOr(sc.RunAsUser, 0) != uid || ptrOr(sc.RunAsGroup, 0) != gid {
			t.Errorf("%s: want runAsUser %d and runAsGroup %d, the image's user telecart", w.name, uid, gid)
		}
	}
}

// TestSecurityContexts: every container runs as a user that is not root,
// with no capabilities, no way to gain privileges and a read-only root
// file system, under a seccomp filter.
func TestSecurityContexts(t *testing.T) {
	for _, w := range workloads(readManifests(t)) {
		ps := w.pod.Spec.SecurityContext
		if ps == nil || !ptrOr(ps.RunAsNonRoot, false) || ptrOr(ps.RunAsUser, 0) == 0 {
			t.Errorf("%s: want runAsNonRoot and a numeric runAsUser (the kubelet cannot check a named user)", w.name)
		}
		if ps == nil || ps.SeccompProfile == nil || ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: want the runtime's seccomp filter", w.name)
		}
		if w.pod.Spec.AutomountServiceAccountToken == nil || *w.pod.Spec.AutomountServiceAccountToken {
			t.Errorf("%s: mounts a service account token it has no use for", w.name)
		}
		for _, c := range append(slices.Clone(w.pod.Spec.InitContainers), w.pod.Spec.Containers...) {
			sc := c.SecurityContext
			if sc == nil || !ptrOr(sc.ReadOnlyRootFilesystem, false) || ptrOr(sc.AllowPrivilegeEscalation, true) ||
				sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
				t.Errorf("%s, container %s: want a read-only root, no privilege escalation, every capability dropped", w.name, c.Name)
			}
			if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
				t.Errorf("%s, container %s: want a memory request and limit", w.name, c.Name)
			}
		}
	}
}

// TestKustomizeBuild builds the base, and the example with its examples
// as the secrets, with kubectl's kustomize (or kustomize), as kubectl
// apply -k does, and decodes what it makes strictly.
func TestKustomizeBuild(t *testing.T) {
	var build []string
	if p, err := exec.LookPath("kubectl"); err == nil {
		build = []string{p, "kustomize"}
	} else if p, err := exec.LookPath("kustomize"); err == nil {
		build = []string{p, "build"}
	} else {
		t.Skip("neither kubectl nor kustomize is installed: the base is checked file by file only")
	}
	// A copy, with each example env file where the operator's would be.
	dir := t.TempDir()
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != "." && p != kubeDir && p != exampleDir && !strings.HasPrefix(p, kubeDir+"/") && !strings.HasPrefix(p, exampleDir+"/") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		rel := p
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, strings.TrimSuffix(rel, ".example")), data, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	namespace := readKustomization(t, kubeDir).Namespace
	for _, tt := range []struct {
		dir     string
		secrets int
		image   string
	}{
		{kubeDir, 0, "telecart:latest"},
		{exampleDir, 2, "registry.example.org/telecart:1.0"},
	} {
		t.Run(tt.dir, func(t *testing.T) {
			out, err := exec.Command(build[0], append(build[1:], filepath.Join(dir, tt.dir))...).Output()
			if err != nil {
				var exit *exec.ExitError
				if errors.As(err, &exit) {
					t.Fatalf("%s: %v\n%s", strings.Join(build, " "), err, exit.Stderr)
				}
				t.Fatal(err)
			}
			docs, err := documents(bytes.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			counts := map[string]int{}
			var objs []object
			for _, d := range docs {
				obj, err := decode(d)
				if err != nil {
					t.Errorf("the built base: %v", err)
					continue
				}
				objs = append(objs, obj)
				kind := obj.GetObjectKind().GroupVersionKind().Kind
				counts[kind]++
				if ns := obj.GetNamespace(); ns != namespace && kind != "Namespace" {
					t.Errorf("%s %s in namespace %q, want %q", kind, obj.GetName(), ns, namespace)
				}
			}
			for kind, n := range map[string]int{"Namespace": 1, "ConfigMap": 1, "Secret": tt.secrets, "Deployment": 1, "StatefulSet": 1,
				"DaemonSet": 1, "Service": 2, "PodDisruptionBudget": 2, "NetworkPolicy": 1} {
				if counts[kind] != n {
					t.Errorf("the built base has %d %s, want %d", counts[kind], kind, n)
				}
			}
			// Each reference to a generated object names it as generated
			// (with its hash), once the example has made the Secrets.
			made := map[string]bool{}
			for _, o := range objs {
				made[o.GetObjectKind().GroupVersionKind().Kind+" "+o.GetName()] = true
			}
			for _, w := range workloads(objs) {
				for _, v := range w.pod.Spec.Volumes {
					if v.ConfigMap != nil && !made["ConfigMap "+v.ConfigMap.Name] {
						t.Errorf("%s: volume %s is ConfigMap %s, which is not there", w.name, v.Name, v.ConfigMap.Name)
					}
				}
				for _, c := range append(slices.Clone(w.pod.Spec.InitContainers), w.pod.Spec.Containers...) {
					if strings.Contains(c.Image, "telecart") && c.Image != tt.image {
						t.Errorf("%s, container %s: image %s, want %s", w.name, c.Name, c.Image, tt.image)
					}
					for _, e := range c.Env {
						if ref := e.ValueFrom; tt.secrets > 0 && ref != nil && ref.SecretKeyRef != nil && !made["Secret "+ref.SecretKeyRef.Name] {
							t.Errorf("%s, container %s: %s is from Secret %s, which is not there", w.name, c.Name, e.Name, ref.SecretKeyRef.Name)
						}
					}
				}
			}
		})
	}
}
