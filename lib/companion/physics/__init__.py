"""Physics toolkits: quantum state tomography, the Athena WFI detector, galaxy-cluster X-ray images."""
