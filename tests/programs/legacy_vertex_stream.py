# vertexai.init() without arguments: project and location come from the environment.
import vertexai
from vertexai.generative_models import GenerationConfig, GenerativeModel

vertexai.init()
model = GenerativeModel("gemini-1.0-pro", generation_config=GenerationConfig(temperature=0.4, max_output_tokens=64))
for chunk in model.generate_content(["Explain DNS", "in two sentences."], stream=True):
    print(chunk.text, end="|")
print()
