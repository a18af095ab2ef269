// Command kstatus reads a JSON array of Kubernetes objects on stdin and prints, as a JSON array in
// the same order, what kstatus (sigs.k8s.io/cli-utils/pkg/kstatus/status.Compute, the library
// Flux uses for `wait: true` and health checks) says of each: {"status": ..., "message": ...}.
//
// The pytest suite builds it (hack/kstatus/build.sh) and feeds it Projects as the operator writes
// them, in every phase, and a fresh Project read back from the API server.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type result struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Error   string `json:"error,omitempty"`
}

func main() {
	// utiljson keeps whole numbers as int64, as the API machinery does (kstatus reads
	// metadata.generation and status.observedGeneration as int64).
	var objects []map[string]interface{}
	data, err := io.ReadAll(os.Stdin)
	if err == nil {
		err = utiljson.Unmarshal(data, &objects)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "kstatus: reading a JSON array of objects from stdin: %v\n", err)
		os.Exit(2)
	}
	out := make([]result, 0, len(objects))
	for _, obj := range objects {
		res, err := status.Compute(&unstructured.Unstructured{Object: obj})
		if err != nil {
			out = append(out, result{Error: err.Error()})
			continue
		}
		out = append(out, result{Status: res.Status.String(), Message: res.Message})
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintf(os.Stderr, "kstatus: %v\n", err)
		os.Exit(2)
	}
}
